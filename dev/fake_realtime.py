"""A loopback stand-in for OpenAI's Realtime WebRTC endpoint (POST /v1/realtime/calls), built on aiortc.

It answers the browser's SDP offer, sends a tone as the model's voice, and plays a short scripted exchange of
Realtime events on the `oai-events` data channel once the browser's microphone audio arrives. ICE stays on
127.0.0.1: only loopback candidates are offered and taken.
"""

from __future__ import annotations

import array
import asyncio
import json
import math
import threading

TRANSCRIPT = ("Bonjour, ", "votre solde est de 1 250 euros.")
USER_SAID = "Quel est mon solde ?"


def loopback_only(sdp: str) -> str:
    """The SDP without ICE candidates that are not on 127.0.0.1 (no mDNS, no other interface)."""
    lines = [line for line in sdp.splitlines()
             if not line.startswith("a=candidate:") or " 127.0.0.1 " in line]
    return "\r\n".join(lines) + "\r\n"


class RealtimeStandIn:
    """WebRTC peers on a private asyncio loop; counts the microphone frames it hears and the events it sends."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.peers: list = []
        self.frames_heard = 0
        self.events_sent: list[str] = []
        self.calls = 0
        self.track_ended = None
        self.speak: threading.Event | None = None  # when set by a test, the model speaks only once it is released
        self.finish: threading.Event | None = None  # likewise for the end of its reply
        self.interrupted = False  # True: the user talks over the reply after its first words (it is cut there)

    def answer(self, offer_sdp: str, timeout: float = 15) -> str:
        """The SDP answer to a browser's offer (blocking; called from an HTTP handler thread)."""
        self.calls += 1
        return asyncio.run_coroutine_threadsafe(self._answer(offer_sdp), self.loop).result(timeout)

    async def _answer(self, offer_sdp: str) -> str:
        import aioice.ice
        from aiortc import RTCPeerConnection, RTCSessionDescription

        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
        peer = RTCPeerConnection()
        self.peers.append(peer)
        peer.addTrack(_tone_track())
        heard = asyncio.Event()

        @peer.on("track")
        def on_track(track):
            if track.kind == "audio":
                asyncio.ensure_future(self._listen(track, heard))

        @peer.on("datachannel")
        def on_channel(channel):
            if channel.label == "oai-events":
                asyncio.ensure_future(self._converse(channel, heard))

        await peer.setRemoteDescription(RTCSessionDescription(loopback_only(offer_sdp), "offer"))
        await peer.setLocalDescription(await peer.createAnswer())
        return peer.localDescription.sdp

    async def _listen(self, track, heard: asyncio.Event):
        try:
            while True:
                await track.recv()
                self.frames_heard += 1
                if self.frames_heard >= 10:
                    heard.set()
        except Exception as exc:  # noqa: BLE001 - the track ends when the browser hangs up
            self.track_ended = repr(exc)
            return

    async def _converse(self, channel, heard: asyncio.Event):
        def send(event: dict):
            if channel.readyState == "open":
                channel.send(json.dumps(event))
                self.events_sent.append(event["type"])

        send({"type": "session.created", "session": {"type": "realtime", "model": "gpt-realtime"}})
        try:
            await asyncio.wait_for(heard.wait(), 10)  # speak only once the microphone is heard
        except asyncio.TimeoutError:
            send({"type": "error", "error": {"type": "invalid_request_error", "message": "no audio received"}})
            return
        send({"type": "input_audio_buffer.speech_started"})
        await self._released(self.speak)
        send({"type": "conversation.item.input_audio_transcription.completed", "transcript": USER_SAID})
        send({"type": "output_audio_buffer.started"})
        for part in TRANSCRIPT:
            send({"type": "response.output_audio_transcript.delta", "delta": part})
            if self.interrupted:  # as OpenAI does over WebRTC: speech detected, the audio cut, the response cancelled
                await self._released(self.finish)
                send({"type": "input_audio_buffer.speech_started"})
                send({"type": "output_audio_buffer.cleared"})
                send({"type": "response.done", "response": {"status": "cancelled"}})
                return
            await asyncio.sleep(0.2)
        send({"type": "response.output_audio_transcript.done", "transcript": "".join(TRANSCRIPT)})
        await self._released(self.finish, default_wait=1.5)
        send({"type": "output_audio_buffer.stopped"})

    async def _released(self, gate: threading.Event | None, default_wait: float = 0.0):
        """Wait for a test's go-ahead when it holds one, else a moment."""
        if gate is None:
            await asyncio.sleep(default_wait)
        else:
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 20)

    def close(self):
        async def close_all():
            for peer in self.peers:
                await peer.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _tone_track():
    """A 400 Hz tone as the model's voice, paced like real audio."""
    from aiortc.mediastreams import AudioStreamTrack

    samples = array.array("h", (int(8000 * math.sin(2 * math.pi * 400 * n / 48000)) for n in range(960)))

    class Tone(AudioStreamTrack):
        async def recv(self):
            frame = await super().recv()  # silence with the right timing, stereo or mono as aiortc makes it
            channels = len(frame.layout.channels)
            data = array.array("h", (value for value in samples for _ in range(channels)))
            frame.planes[0].update(data.tobytes()[: len(bytes(frame.planes[0]))])
            return frame

    return Tone()
