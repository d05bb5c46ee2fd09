/**
 * The page the relay serves: it frames the inspector UI and forwards every message from the relay's WebSocket
 * into the frame. The UI posts `@statelyai.connected` once it listens; messages that arrive earlier are held.
 */

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
}

export function bridgePage(inspectorUrl: string): string {
  const target = new URL(inspectorUrl).origin;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>session-supervisor inspector</title>
<style>
  html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; }
  #status { position: fixed; right: 8px; bottom: 8px; padding: 2px 8px; border-radius: 4px;
            background: #24292f; color: #fff; opacity: 0.8; }
  iframe { border: 0; width: 100%; height: 100%; display: block; }
</style>
</head>
<body>
<iframe id="inspector" src="${escapeAttribute(inspectorUrl)}" title="Stately inspector"></iframe>
<div id="status">connecting…</div>
<script>
  const frame = document.getElementById('inspector');
  const status = document.getElementById('status');
  const target = ${JSON.stringify(target)};
  const held = [];
  let ready = false;
  let received = 0;
  const deliver = (message) => frame.contentWindow.postMessage(message, target);
  window.addEventListener('message', (event) => {
    if (event.origin !== target || !event.data || event.data.type !== '@statelyai.connected') return;
    ready = true;
    for (const message of held.splice(0)) deliver(message);
  });
  const socket = new WebSocket('ws://' + location.host);
  socket.addEventListener('open', () => { status.textContent = 'connected'; });
  socket.addEventListener('close', () => { status.textContent = 'disconnected (reload to reconnect)'; });
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    received += 1;
    status.textContent = 'connected · ' + received + ' events';
    if (ready) deliver(message); else held.push(message);
  });
</script>
</body>
</html>
`;
}
