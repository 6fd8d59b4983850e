// kstt page: microphone -> AudioWorklet (24 kHz) -> 1920-sample Audio messages (msgpack,
// float32) -> WebSocket /api/asr-streaming; Word / EndWord / Step / Error back.
"use strict";
(function () {
  const FRAME = 1920;
  const $ = (id) => document.getElementById(id);
  const encoder = new MessagePack.Encoder({ forceFloat32: true });
  let ws = null, ctx = null, stream = null, node = null;
  let pending = new Float32Array(0);
  let wordsSinceTurn = 0, nWords = 0, nSteps = 0;

  function status(t) { $("status").textContent = t; }

  function addWord(text) {
    const w = document.createElement("span");
    w.className = "word";
    w.textContent = (nWords ? " " : "") + text;
    $("words").appendChild(w);
    nWords++;
    wordsSinceTurn++;
  }

  function endOfTurn() {
    const t = document.createElement("span");
    t.className = "turn";
    t.textContent = " \u23CE ";
    $("words").appendChild(t);
    wordsSinceTurn = 0;
  }

  function onMessage(ev) {
    const m = MessagePack.decode(new Uint8Array(ev.data));
    if (m.type === "Ready") status("listening");
    else if (m.type === "Word") addWord(m.text);
    else if (m.type === "Step") {
      nSteps++;
      if (wordsSinceTurn && m.prs && m.prs.length > 2 && m.prs[2] > 0.5) endOfTurn();
    } else if (m.type === "Error") status("error: " + m.message);
    document.body.dataset.words = String(nWords);
    document.body.dataset.steps = String(nSteps);
  }

  function send(samples) {
    const all = new Float32Array(pending.length + samples.length);
    all.set(pending);
    all.set(samples, pending.length);
    let off = 0;
    while (all.length - off >= FRAME) {
      const pcm = Array.from(all.subarray(off, off + FRAME));
      if (ws && ws.readyState === 1) ws.send(encoder.encode({ type: "Audio", pcm: pcm }));
      off += FRAME;
    }
    pending = all.slice(off);
  }

  const worklet = `
    class Tap extends AudioWorkletProcessor {
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (ch) this.port.postMessage(ch.slice(0));
        return true;
      }
    }
    registerProcessor("tap", Tap);`;

  async function start() {
    $("start").disabled = true;
    $("stop").disabled = false;
    const key = encodeURIComponent($("key").value);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/api/asr-streaming?auth_id=${key}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = onMessage;
    ws.onclose = (e) => { status("closed (" + e.code + ")"); stop(); };
    ws.onerror = () => status("connection failed");
    status("connecting");
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
               autoGainControl: false } });
    ctx = new AudioContext({ sampleRate: 24000 });
    const url = URL.createObjectURL(new Blob([worklet], { type: "application/javascript" }));
    await ctx.audioWorklet.addModule(url);
    node = new AudioWorkletNode(ctx, "tap");
    node.port.onmessage = (e) => send(e.data);
    ctx.createMediaStreamSource(stream).connect(node);
  }

  function stop() {
    $("start").disabled = false;
    $("stop").disabled = true;
    if (node) node.disconnect();
    if (ctx) ctx.close();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ws && ws.readyState <= 1) ws.close();
    node = ctx = stream = null;
  }

  $("start").onclick = () => start().catch((e) => status("error: " + e));
  $("stop").onclick = stop;
  const q = new URLSearchParams(location.search);
  if (q.get("key")) $("key").value = q.get("key");
  if (q.get("autostart")) start().catch((e) => status("error: " + e));
})();
