// The voice assistant's connection: WebRTC to OpenAI through our server's relay (no key in the page), transcripts
// kept in history as this device reports them (the server keeps the assistant's side as the user's quoted note).
// What the page shows (states, transcript, words for failures) is in voice-ui.js.
import { ApiError, postText, request } from "./api.js";
import { language } from "./i18n.js";
import { failureKind, voiceUi } from "./voice-ui.js";

const ICE_WAIT_MS = 1500;
const CALL = "/api/realtime/call";
const TRANSCRIPT = "/api/realtime/transcript";
const TEXT_MAX = 2000; // the transcript route's bound for one utterance

export function setupVoice(config, chat = null) {
  const button = document.getElementById("voice-button");
  const audio = document.getElementById("voice-audio");
  const ui = voiceUi();
  let session = null;
  const setState = (next, kind) => ui.setState(next, kind);

  const line = (speaker) => ui.line(speaker);

  // Finished transcripts go to our server one after another, in the order they were spoken.
  function report(current, item) {
    if (!config.history || !current.callId || !item.text.trim()) return;
    if (item.text.length > TEXT_MAX) item = { ...item, text: `${item.text.slice(0, TEXT_MAX - 1)}…` };
    current.saving = current.saving.then(async () => {
      const body = { callId: current.callId, items: [item], language: current.language };
      if (current.conversationId) body.conversationId = current.conversationId;
      try {
        current.conversationId = (await request("POST", TRANSCRIPT, body)).conversationId;
        current.saved = true;
      } catch {
        /* the call goes on; this part of its transcript is not kept */
      }
    });
  }

  // A reply cut short (the user spoke over it, or stopped the call) is kept as far as it got, marked interrupted.
  function interruptReply(current) {
    if (current.reply && !current.reply.dataset.reported) {
      current.reply.dataset.reported = "true";
      report(current, { role: "assistant", text: current.reply.textContent, status: "interrupted" });
    }
    current.reply = null;
  }

  function stopSession(next = "stopped", kind = undefined) {
    const current = session;
    if (current) {
      interruptReply(current);
      current.channel?.close();
      current.peer.close();
      current.microphone.getTracks().forEach((track) => track.stop());
      audio.srcObject = null;
      session = null;
      if (current.callId) {
        request("DELETE", `${CALL}?callId=${encodeURIComponent(current.callId)}`).catch(() => {});
      }
      current.saving.then(() => current.saved && chat && chat.open(current.conversationId));
    }
    setState(next, kind);
  }

  function onEvent(event) {
    const current = session;
    if (!current) return;
    switch (event.type) {
      case "output_audio_buffer.started":
      case "response.output_audio.delta":
        setState("speaking");
        break;
      case "output_audio_buffer.cleared":
        setState("listening");
        interruptReply(current);
        break;
      case "output_audio_buffer.stopped":
      case "response.done":
        setState("listening");
        current.reply = null;
        break;
      case "input_audio_buffer.speech_started":
        if (ui.state === "speaking") interruptReply(current);
        setState("listening");
        break;
      case "response.output_audio_transcript.delta":
      case "response.audio_transcript.delta":
        current.reply = current.reply || line("assistant");
        current.reply.textContent += event.delta;
        break;
      case "response.output_audio_transcript.done":
      case "response.audio_transcript.done": {
        const reply = current.reply || line("assistant");
        if (!reply.dataset.reported) {
          reply.textContent = event.transcript;
          reply.dataset.reported = "true";
          report(current, { role: "assistant", text: event.transcript, status: "complete" });
        }
        current.reply = null;
        break;
      }
      case "conversation.item.input_audio_transcription.completed":
        line("user").textContent = event.transcript;
        report(current, { role: "user", text: event.transcript });
        break;
      case "error":
        stopSession("error", "key");
        break;
      default:
        break;
    }
  }

  async function startSession() {
    if (!window.RTCPeerConnection || !navigator.mediaDevices) return setState("error", "unsupported");
    setState("connecting");
    let microphone;
    try {
      microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return setState("error", "microphone");
    }
    const peer = new RTCPeerConnection();
    session = { peer, microphone, channel: null, reply: null, callId: null, conversationId: null,
      saving: Promise.resolve(), saved: false, language: language() };
    const current = session;
    peer.ontrack = (event) => {
      audio.srcObject = event.streams[0];
      audio.play().catch(() => {});
    };
    peer.onconnectionstatechange = () => {
      if (session === current && peer.connectionState === "failed") stopSession("error", "network");
    };
    peer.addTrack(microphone.getAudioTracks()[0], microphone);
    const channel = peer.createDataChannel("oai-events");
    session.channel = channel;
    channel.addEventListener("open", () => session === current && setState("listening"));
    channel.addEventListener("message", (message) => {
      try {
        onEvent(JSON.parse(message.data));
      } catch {
        /* not an event: ignore */
      }
    });
    try {
      await peer.setLocalDescription(await peer.createOffer());
      await iceGathered(peer);
      const into = chat && config.history && chat.current();
      const query = new URLSearchParams({ language: current.language }); // the user's speech is transcribed in it
      if (into) query.set("conversationId", into);
      const answer = await postText(`${CALL}?${query}`, peer.localDescription.sdp, "application/sdp");
      current.callId = answer.headers.get("X-Call-Id");
      current.conversationId = answer.headers.get("X-Conversation-Id");
      if (session !== current) {  // stopped while connecting: end the call just made
        request("DELETE", `${CALL}?callId=${encodeURIComponent(current.callId)}`).catch(() => {});
        return;
      }
      await peer.setRemoteDescription({ type: "answer", sdp: answer.text });
    } catch (failure) {
      if (session === current) stopSession("error", failure instanceof ApiError ? failureKind(failure) : "network");
    }
  }

  button.addEventListener("click", () => {
    if (session || ui.state === "connecting") stopSession();
    else startSession();
  });
  setState("idle");
}

// Wait for local ICE candidates (quick: no STUN), so the offer carries them, but never for long.
function iceGathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (peer.iceGatheringState === "complete") resolve();
    };
    peer.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ICE_WAIT_MS);
  });
}
