// The fixture's meeting page: a lobby, a host's answer, and a call whose audio comes over WebRTC.
(() => {
  'use strict';
  const room = decodeURIComponent(location.pathname.split('/').pop());
  const api = '/api/' + encodeURIComponent(room);
  const $ = (id) => document.getElementById(id);
  let guest = null;
  let pc = null;
  let joined = false;
  let over = false;
  let shownTiles = '';
  let shownChat = 0;

  async function init() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      $('preview').srcObject = stream;
    } catch (_) { /* no devices: join without a preview */ }
    const info = await (await fetch(api)).json();
    if (info.not_started || info.ended) {
      $('ask').hidden = true;
      $('status').textContent = info.ended ? 'This meeting has ended.'
        : 'The meeting has not started yet. Ask the host to start it, then try again.';
    }
  }

  $('ask').addEventListener('click', async () => {
    const name = $('name').value.trim();
    if (!name) {
      $('status').textContent = 'Enter your name to ask to join.';
      return;
    }
    $('ask').disabled = true;
    const res = await fetch(api + '/knock', { method: 'POST', body: JSON.stringify({ name }) });
    if (!res.ok) {
      $('status').textContent = 'You cannot join this meeting now.';
      $('ask').disabled = false;
      return;
    }
    const knock = await res.json();
    guest = knock.guest;
    if (knock.state === 'waiting') $('status').textContent = 'Asking to join… You will join the call when someone lets you in.';
    poll();
  });

  async function poll() {
    while (!over) {
      try {
        const res = await fetch(api + '/guest/' + guest);
        if (res.ok) await onState(await res.json());
      } catch (_) { /* try again */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function onState(s) {
    switch (s.state) {
      case 'denied':
        over = true;
        $('ask').disabled = false;
        $('status').textContent = "You can't join this call. Someone in the call denied your request to join.";
        return;
      case 'admitted':
        if (!joined) await enterCall(s.tracks);
        tiles(s.participants || []);
        messages(s.chat || []);
        return;
      case 'ended':
        return out('The meeting has ended: the host ended the meeting for everyone.');
      case 'removed':
        return out('You have been removed from the meeting by the host.');
      case 'left':
        return out('You left the meeting.');
    }
  }

  async function enterCall(n) {
    joined = true;
    $('lobby').hidden = true;
    $('call').hidden = false;
    pc = new RTCPeerConnection();
    for (let i = 0; i < n; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      const a = document.createElement('audio');
      a.autoplay = true;
      a.srcObject = new MediaStream([e.track]);
      $('audio').append(a);
      a.play().catch(() => {});
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 2000);
    });
    const res = await fetch(api + '/guest/' + guest + '/media', { method: 'POST', body: pc.localDescription.sdp });
    if (res.ok) await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  }

  function tiles(list) {
    const key = JSON.stringify(list);
    if (key === shownTiles) return;
    shownTiles = key;
    const box = $('tiles');
    box.replaceChildren(...list.map((p) => {
      const tile = document.createElement('div');
      tile.className = 'tile';
      tile.dataset.participantName = p.name;
      tile.dataset.speaking = String(p.speaking);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.name;
      tile.append(name);
      return tile;
    }));
  }

  function messages(list) {
    for (; shownChat < list.length; shownChat++) {
      const li = document.createElement('li');
      li.className = 'message';
      li.dataset.from = list[shownChat].From;
      const from = document.createElement('b');
      from.textContent = list[shownChat].From + ': ';
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = list[shownChat].Text;
      li.append(from, text);
      $('messages').append(li);
    }
  }

  $('send').addEventListener('click', async () => {
    const text = $('chat-input').value.trim();
    if (!text) return;
    $('chat-input').value = '';
    await fetch(api + '/guest/' + guest + '/chat', { method: 'POST', body: JSON.stringify({ text }) });
  });
  $('chat-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('send').click();
    }
  });

  $('leave').addEventListener('click', async () => {
    await fetch(api + '/guest/' + guest + '/leave', { method: 'POST' });
    out('You left the meeting.');
  });

  function out(text) {
    over = true;
    if (pc) pc.close();
    $('call').hidden = true;
    $('lobby').hidden = true;
    $('end').hidden = false;
    $('end').textContent = text;
  }

  init();
})();
