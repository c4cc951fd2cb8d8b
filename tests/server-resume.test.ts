/**
 * ResumeRegistry and ResumableStream (server/resume.ts) on their own, with
 * recording sockets in place of uWebSockets.js ones and a stand-in session
 * (the registry only ever aborts it): what a resumed socket receives, and in
 * which order; the replay window; grace expiry; overflow; take-over of a live
 * socket; owners. tests/client-listen.test.ts runs the same paths end to end.
 */
import { describe, expect, it } from 'vitest';
import type { ServerMessage, TranscriptMessage } from '../protocol/messages.js';
import { ResumeTokens } from '../server/replica.js';
import { MAX_HELD_MESSAGES, REPLAY_WINDOW, ResumeError, ResumeRegistry, type ResumableStream } from '../server/resume.js';
import type { Session, SessionIo } from '../server/session.js';
import { DEFAULT_SESSION_CONFIG } from '../protocol/session-config.js';

class RecordingSocket implements SessionIo {
  readonly sent: ServerMessage[] = [];
  ended: { code: number; reason: string } | null = null;
  send(msg: ServerMessage): void {
    this.sent.push(msg);
  }
  end(code: number, reason: string): void {
    this.ended = { code, reason };
  }
}

const SECRET = Buffer.alloc(32, 7);

function fixture(graceMs = 1000, replicaId = 'r1') {
  const released: string[] = [];
  const aborted: string[] = [];
  const registry = new ResumeRegistry(graceMs, new ResumeTokens(replicaId, SECRET), (s) => released.push((s as unknown as { name: string }).name));
  const open = (name: string, owner = 'alice') => {
    const socket = new RecordingSocket();
    const stream = registry.start(socket, owner, () => ({ name, abort: () => aborted.push(name) }) as unknown as Session);
    return { socket, stream };
  };
  return { registry, released, aborted, open };
}

function ready(stream: ResumableStream): void {
  stream.send({
    type: 'ready',
    session_id: 's',
    model: 'm',
    protocol_version: 'v1',
    config: { ...DEFAULT_SESSION_CONFIG },
    limits: { max_message_bytes: 1, max_session_ms: 1, idle_timeout_ms: 1 },
    resume_token: '',
  });
}

function transcript(type: 'partial' | 'final', segmentId: number): TranscriptMessage {
  return { type, segment_id: segmentId, channel: 0, start_ms: 0, end_ms: 10, text: `${type} ${segmentId}`, words: [], speaker: '' };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ResumeRegistry', () => {
  it('stamps a token on ready; a resumed socket gets a fresh ready, the missed numbered events and what was held, in order', () => {
    const { registry, open } = fixture();
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    expect(token).toMatch(/^r1\.[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{22}$/);
    stream.send(transcript('final', 0)); // numbered 1: the client got it
    stream.send(transcript('partial', 1)); // not numbered, not kept while attached
    stream.send(transcript('final', 1)); // numbered 2: lost in flight
    registry.socketClosed(stream, socket, true);
    stream.send({ type: 'utterance_end', channel: 0, segment_id: 1, at_ms: 10 }); // held
    stream.send(transcript('partial', 2)); // held
    stream.send({ type: 'error', code: 'bad_audio', message: 'x', fatal: false }); // held

    const next = new RecordingSocket();
    expect(registry.resume(token, 1, 'alice', next)).toBe(stream);
    expect(next.sent.map((m) => m.type)).toEqual(['ready', 'final', 'utterance_end', 'partial', 'error']);
    const fresh = (next.sent[0] as { resume_token: string }).resume_token;
    expect(fresh).not.toBe(token);
    expect(next.sent[1]).toEqual(transcript('final', 1));
    // Live messages go to the new socket; the old token is spent.
    stream.send(transcript('final', 2));
    expect(next.sent.at(-1)).toEqual(transcript('final', 2));
    expect(() => registry.resume(token, 0, 'alice', new RecordingSocket())).toThrow(ResumeError);

    // A second drop replays only what is still due: held non-numbered messages are not sent twice.
    registry.socketClosed(stream, next, true);
    const third = new RecordingSocket();
    registry.resume(fresh, 4, 'alice', third);
    expect(third.sent.map((m) => m.type)).toEqual(['ready']);
  });

  it('refuses a count beyond what was sent, or one older than the replay window', () => {
    const { registry, open } = fixture();
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    for (let i = 0; i < REPLAY_WINDOW + 5; i++) stream.send(transcript('final', i));
    registry.socketClosed(stream, socket, true);
    expect(() => registry.resume(token, REPLAY_WINDOW + 6, 'alice', new RecordingSocket())).toThrow(/resume_from=134, but this session has sent only 133 /);
    expect(() => registry.resume(token, 4, 'alice', new RecordingSocket())).toThrow(/keeps only the last 128 events it counts \(from 6\)/);
    // The refusals left the session held: a count inside the window works.
    const next = new RecordingSocket();
    registry.resume(token, 5, 'alice', next);
    expect(next.sent).toHaveLength(1 + REPLAY_WINDOW);
  });

  it('lets a dropped session go when its grace period ends, and treats its token as unknown', async () => {
    const { registry, released, aborted, open } = fixture(100);
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    registry.socketClosed(stream, socket, true);
    expect(released).toEqual([]);
    await sleep(300);
    expect(aborted).toEqual(['a']);
    expect(released).toEqual(['a']);
    expect(() => registry.resume(token, 0, 'alice', new RecordingSocket())).toThrow(/resume_token is unknown or expired \(sessions are held 100 ms after a drop\)/);
  });

  it('lets go at once a session that never sent ready, that ended, or whose client was cut off', () => {
    const { registry, released, open } = fixture();
    const fresh = open('never-ready');
    registry.socketClosed(fresh.stream, fresh.socket, true);
    const ended = open('ended');
    ready(ended.stream);
    ended.stream.end(1000, 'client_close');
    registry.socketClosed(ended.stream, ended.socket, true);
    const cut = open('cut-off');
    ready(cut.stream);
    registry.socketClosed(cut.stream, cut.socket, false);
    expect(released).toEqual(['never-ready', 'ended', 'cut-off']);
  });

  it('a session that ends while dropped hands its last messages to the resumed socket, then ends it', async () => {
    const { registry, open } = fixture();
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    registry.socketClosed(stream, socket, true);
    stream.send(transcript('final', 0));
    stream.send({ type: 'closed', reason: 'idle_timeout', audio_ms_received: 10, finals_sent: 1 });
    stream.end(1000, 'idle_timeout');
    const next = new RecordingSocket();
    registry.resume(token, 0, 'alice', next);
    expect(next.sent.map((m) => m.type)).toEqual(['ready', 'final', 'closed']);
    expect(next.ended).toBeNull();
    await sleep(10);
    expect(next.ended).toEqual({ code: 1000, reason: 'idle_timeout' });
  });

  it('gives a dropped session up when it holds too many messages', async () => {
    const { registry, released, open } = fixture();
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    registry.socketClosed(stream, socket, true);
    for (let i = 0; i <= REPLAY_WINDOW + MAX_HELD_MESSAGES; i++) stream.send(transcript('partial', i));
    await sleep(0);
    expect(released).toEqual(['a']);
    expect(() => registry.resume(token, 0, 'alice', new RecordingSocket())).toThrow(/unknown or expired/);
  });

  it('takes a session over from a socket the server still thinks is live, closing that socket', () => {
    const { registry, released, open } = fixture();
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    stream.send(transcript('final', 0));
    const next = new RecordingSocket();
    registry.resume(token, 0, 'alice', next);
    expect(socket.ended).toEqual({ code: 4000, reason: 'session resumed on another connection' });
    expect(next.sent.map((m) => m.type)).toEqual(['ready', 'final']);
    // The old socket's close is then a no-op: the session lives on the new one.
    registry.socketClosed(stream, socket, true);
    expect(released).toEqual([]);
    stream.send(transcript('final', 1));
    expect(socket.sent.filter((m) => m.type === 'final')).toHaveLength(1);
    expect(next.sent.at(-1)).toEqual(transcript('final', 1));
  });

  it('only the owner may resume; with resumption off the token is empty and a drop lets go', () => {
    const { registry, open } = fixture();
    const { socket, stream } = open('a', 'alice');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    registry.socketClosed(stream, socket, true);
    expect(() => registry.resume(token, 0, 'mallory', new RecordingSocket())).toThrow(/unknown or expired/);
    expect(registry.resume(token, 0, 'alice', new RecordingSocket())).toBe(stream);

    const off = fixture(0);
    const o = off.open('b');
    ready(o.stream);
    expect(o.socket.sent[0]).toMatchObject({ type: 'ready', resume_token: '' });
    off.registry.socketClosed(o.stream, o.socket, true);
    expect(off.released).toEqual(['b']);
    expect(() => off.registry.resume('', 0, 'alice', new RecordingSocket())).toThrow(/does not resume sessions/);
  });

  it("names its replica in tokens: another replica's token is refused as gone, a forged one as unknown", () => {
    const { registry, open } = fixture(1000, 'r1');
    const { socket, stream } = open('a');
    ready(stream);
    const token = (socket.sent[0] as { resume_token: string }).resume_token;
    registry.socketClosed(stream, socket, true);

    // The load balancer sent it to r2: r2 can tell r1 issued it, and says r1 is gone.
    const other = fixture(1000, 'r2');
    expect(() => other.registry.resume(token, 0, 'alice', new RecordingSocket())).toThrow(/held by replica r1, which is gone or unreachable; this is r2/);
    // A token whose replica part was changed fails its MAC: just unknown, wherever it lands.
    const forged = token.replace(/^r1\./, 'r2.');
    expect(() => other.registry.resume(forged, 0, 'alice', new RecordingSocket())).toThrow(/unknown or expired/);
    // A replica under another secret cannot vouch for the token at all.
    const foreign = new ResumeRegistry(1000, new ResumeTokens('r2', Buffer.alloc(32, 9)), () => {});
    expect(() => foreign.resume(token, 0, 'alice', new RecordingSocket())).toThrow(/unknown or expired/);
    // The replica that holds it resumes it.
    expect(registry.resume(token, 0, 'alice', new RecordingSocket())).toBe(stream);
  });

  it('clear() lets every dropped session go', () => {
    const { registry, released, open } = fixture();
    for (const name of ['a', 'b']) {
      const { socket, stream } = open(name);
      ready(stream);
      registry.socketClosed(stream, socket, true);
    }
    registry.clear();
    expect(released.sort()).toEqual(['a', 'b']);
  });
});
