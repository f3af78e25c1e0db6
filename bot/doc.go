// Package bot joins a web meeting as a participant and hears it: a meeting bot.
//
// A Bot runs one headless Chromium (driven over the DevTools protocol), with its own profile, a
// pinned locale, autoplay allowed, a silent fake camera and microphone, and limits; Capacity caps
// how many run on one machine. The bot opens the meeting's page, gives its name, asks to join
// and waits to be admitted, through a lobby state machine whose states (requested, launching,
// joining, waiting, in_call, leaving, ended, or failed with a typed Reason) it reports as they
// change. It leaves when told, when the meeting ends, or when it has been alone for a while.
//
// What it hears: a script added to the page before the platform's own (page/capture.js) wraps
// RTCPeerConnection and forwards every remote audio track, as it is, over a second WebRTC
// connection to a WHIP endpoint (the agent's ingest), one channel per track. It samples which
// sources each track carries (the contributing sources of a server's mix or of Meet's virtual
// streams, or the track's own source and audio level) and which participants the page shows
// speaking; the bot turns those samples into a speaker timeline (Timeline): turns of sources on
// each channel, and whose each source is, learned when a source is heard alone while one
// participant alone is shown speaking. What it cannot tell stays unknown.
//
// What differs between platforms, their links, join flow, selectors and signals, is one Adapter
// each (meet, teams, zoom, jitsi, and generic for any other web meeting); everything else is
// shared.
//
// Concurrency: a Bot's Run is called once and owns the browser and everything it starts, which
// it stops before returning; Leave, Status, People and Usage may be called from any goroutine.
// The page's calls into the bot (forwarding offers, reports) arrive on goroutines of the
// DevTools client and are safe with Run. Nothing the page does waits on the bot: its calls are
// asynchronous and bounded.
package bot
