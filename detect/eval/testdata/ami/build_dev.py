"""Builds dev_dialogue_acts.jsonl from the AMI Manual Annotations release 1.6.2.

Usage: build_dev.py RELEASE_GIT_DIR ACTIONS_DIR SPLITS OUT
  RELEASE_GIT_DIR  a git checkout holding ami_public_manual_1.6.2/ (such as the
                   Hasetomo2142/ami-corpus-preprocessing mirror), read at HEAD
  ACTIONS_DIR      the folder of ami_action_items.jsonl (the meetings, their
                   splits and speakers, and the utterances linked to action items)
  SPLITS           the splits to build, comma-separated: train,validation
  OUT              the JSON-lines file to write (gzip it for testdata)

Each utterance is its words joined in order (punctuation attached); the
utterances of all speakers are sorted by start time; action is 1 for an
utterance linked to an ACTIONS sentence (placeholder "NA" items left out).
"""
import json, re, subprocess, sys
import xml.etree.ElementTree as ET
REPO, D = sys.argv[1], sys.argv[2].rstrip('/') + '/'
sys.argv = [sys.argv[0]] + sys.argv[3:]
NS='{http://nite.sourceforge.net/}'
def show(p):
    r=subprocess.run(['git','-C',REPO,'show','HEAD:ami_public_manual_1.6.2/'+p],capture_output=True)
    return r.stdout if r.returncode==0 else None
split={}; speakers={}; linked=set()
for l in open(D+'ami_action_items.jsonl'):
    r=json.loads(l); split[r['meeting']]=r['split']; speakers[r['meeting']]=r['meeting_speakers']
    if r.get('placeholder_na'): continue
    for da in r['linked_dialogue_acts']: linked.add(da['da_id'])
meetings=sorted(m for m,s in split.items() if s in sys.argv[1].split(','))
rng=re.compile(r'id\(([^)]+)\)(?:\.\.id\(([^)]+)\))?')
out=[]
for m in meetings:
    rows=[]
    for spk,info in sorted(speakers[m].items()):
        wx=show(f'words/{m}.{spk}.words.xml'); dx=show(f'dialogueActs/{m}.{spk}.dialog-act.xml')
        if wx is None or dx is None: print('missing',m,spk,file=sys.stderr); continue
        words=[]; idx={}
        for w in ET.fromstring(wx):
            wid=w.get(NS+'id'); idx[wid]=len(words)
            words.append((w.tag, w.text or '', w.get('punc')=='true', w.get('starttime'), w.get('endtime')))
        for da in ET.fromstring(dx):
            did=da.get(NS+'id')
            ch=da.find(NS+'child')
            if ch is None: continue
            mm=rng.search(ch.get('href')); a=idx[mm.group(1)]; b=idx[mm.group(2) or mm.group(1)]
            text=''; st=None
            for tag,t,p,s,e in words[a:b+1]:
                if tag!='w': continue
                if st is None and s: st=float(s)
                if p or not text: text+=t
                else: text+=' '+t
            if st is None:
                for tag,t,p,s,e in words[a:b+1]:
                    if s: st=float(s); break
            rows.append((st or 0.0, did, spk, info['role'], text.strip(), 1 if did in linked else 0))
    rows.sort(key=lambda r:(r[0],r[1]))
    for st,did,spk,role,text,act in rows:
        out.append({'meeting':m,'speaker':spk,'role':role,'text':text,'action':act})
with open(sys.argv[2],'w') as f:
    for r in out: f.write(json.dumps(r)+'\n')
print(len(out), sum(r['action'] for r in out), file=sys.stderr)
