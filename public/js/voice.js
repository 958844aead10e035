// The voice assistant's connection: a short-lived key from our server, then WebRTC straight to the OpenAI Realtime
// API. What the page shows (states, transcript, words for failures) is in voice-ui.js.
import { request } from "./api.js";
import { failureKind, voiceUi } from "./voice-ui.js";

const ICE_WAIT_MS = 1500;

export function setupVoice(config) {
  const button = document.getElementById("voice-button");
  const audio = document.getElementById("voice-audio");
  const ui = voiceUi();
  let session = null;
  const setState = (next, kind) => ui.setState(next, kind);

  const line = (speaker) => ui.line(speaker);

  function stopSession(next = "stopped", kind = undefined) {
    if (session) {
      session.channel?.close();
      session.peer.close();
      session.microphone.getTracks().forEach((track) => track.stop());
      audio.srcObject = null;
      session = null;
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
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
      case "response.done":
        setState("listening");
        current.reply = null;
        break;
      case "input_audio_buffer.speech_started":
        setState("listening");
        break;
      case "response.output_audio_transcript.delta":
      case "response.audio_transcript.delta":
        current.reply = current.reply || line("assistant");
        current.reply.textContent += event.delta;
        break;
      case "response.output_audio_transcript.done":
      case "response.audio_transcript.done":
        (current.reply || line("assistant")).textContent = event.transcript;
        current.reply = null;
        break;
      case "conversation.item.input_audio_transcription.completed":
        line("user").textContent = event.transcript;
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
    let key;
    try {
      key = await request("POST", "/api/realtime/key", {});
    } catch (failure) {
      microphone.getTracks().forEach((track) => track.stop());
      return setState("error", failureKind(failure));
    }
    const peer = new RTCPeerConnection();
    session = { peer, microphone, channel: null, reply: null };
    peer.ontrack = (event) => {
      audio.srcObject = event.streams[0];
      audio.play().catch(() => {});
    };
    peer.onconnectionstatechange = () => {
      if (session && session.peer === peer && peer.connectionState === "failed") {
        stopSession("error", "network");
      }
    };
    peer.addTrack(microphone.getAudioTracks()[0], microphone);
    const channel = peer.createDataChannel("oai-events");
    session.channel = channel;
    channel.addEventListener("open", () => session && session.peer === peer && setState("listening"));
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
      const answer = await fetch(config.realtimeCallsUrl, {
        method: "POST",
        body: peer.localDescription.sdp,
        headers: { Authorization: `Bearer ${key.value}`, "Content-Type": "application/sdp" },
      });
      if (!answer.ok) throw Object.assign(new Error(""), { status: answer.status, code: "refused" });
      if (!session || session.peer !== peer) return;
      await peer.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    } catch (failure) {
      if (session && session.peer === peer) {
        stopSession("error", failure.status ? failureKind(failure) : "network");
      }
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
