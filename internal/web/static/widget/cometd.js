// Confab chat widget: the CometD (Bayeux 1.0) transport, over the websocket connection type of
// /genesys/cometd. The widget publishes Chat API v2 operations on /service/chatV2/{service} and
// receives their answers, and every later batch of the chat's events, on the same channel (see
// docs/customer-api.md, "CometD"). The server binds the client id to its BAYEUX_BROWSER cookie,
// which the upgrade answer sets and the browser sends with every later handshake.

export class Bayeux {
  // url: the node's base URL; service: the chat service; onData(body) gets each delivered
  // Chat API body; onDown() is called once when the connection is lost (call start again);
  // onGone() when a newer client of the same customer replaced this one (do not start again).
  constructor(url, service, { onData, onDown, onGone }) {
    this.url = `${url.replace(/^http/, 'ws')}/genesys/cometd`;
    this.channel = `/service/chatV2/${service}`;
    this.onData = onData;
    this.onDown = onDown;
    this.onGone = onGone;
    this.ws = null;
    this.clientId = '';
    this.nextId = 1;
    this.pending = new Map(); // message id -> {resolve, reject}
  }

  // start opens the socket, handshakes and subscribes; it resolves once the channel is
  // subscribed and rejects when any step fails.
  start() {
    this.stop();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let up = false;
      ws.onopen = async () => {
        try {
          const hs = await this.send({ channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: ['websocket'] });
          this.clientId = hs.clientId;
          this.connect({ timeout: 0 });
          await this.send({ channel: '/meta/subscribe', clientId: this.clientId, subscription: this.channel });
          up = true;
          resolve();
        } catch (err) {
          reject(err);
          ws.close();
        }
      };
      ws.onmessage = (ev) => {
        let batch;
        try { batch = JSON.parse(ev.data); } catch { return; }
        for (const m of Array.isArray(batch) ? batch : [batch]) this.receive(m);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        for (const p of this.pending.values()) p.reject(new Error('cometd: connection closed'));
        this.pending.clear();
        if (up) this.onDown(); else reject(new Error('cometd: connection closed'));
      };
    });
  }

  receive(m) {
    if (m.channel === '/meta/connect') {
      const advice = m.advice && m.advice.reconnect;
      if (advice === 'none') { this.gone(); return; } // replaced by a newer client of the chat: stay away
      if (m.successful && advice !== 'handshake') this.connect();
      // Unknown client (dropped, or its chat moved to another node) or a node stopping: start
      // again with a handshake, through the same address (a load balancer picks a live node).
      else if (this.ws) this.ws.close();
      return;
    }
    if (m.channel === this.channel && m.data) { this.onData(m.data); return; }
    const p = m.id && this.pending.get(m.id);
    if (p) {
      this.pending.delete(m.id);
      if (m.successful === false) p.reject(new Error(`cometd: ${m.error || 'refused'}`));
      else p.resolve(m);
    }
  }

  connect(advice) {
    const m = { channel: '/meta/connect', clientId: this.clientId, connectionType: 'websocket', id: String(this.nextId++) };
    if (advice) m.advice = advice;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify([m]));
  }

  send(m) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) { reject(new Error('cometd: not connected')); return; }
      m.id = String(this.nextId++);
      this.pending.set(m.id, { resolve, reject });
      this.ws.send(JSON.stringify([m]));
    });
  }

  // publish sends one Chat API operation; it resolves when the server has accepted the
  // publish (the operation's answer arrives through onData).
  publish(data) {
    return this.send({ channel: this.channel, clientId: this.clientId, data });
  }

  // gone ends the client for good: another client of the same customer follows the chat now.
  gone() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    if (this.onGone) this.onGone();
  }

  stop() {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN && this.clientId) {
      try { ws.send(JSON.stringify([{ channel: '/meta/disconnect', clientId: this.clientId, id: String(this.nextId++) }])); } catch { /* closing anyway */ }
    }
    ws.close(1000);
  }
}
