/**
 * The console's HTML page (no build step). The script is served separately (`/console.js`) so the
 * page can run under a strict Content-Security-Policy without inline scripts.
 */

export const CONSOLE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hutch console</title>
<style>
  :root { --bg: #0f1419; --panel: #171e26; --line: #263140; --text: #d7dde4; --dim: #8a96a3; --accent: #e0a84f; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; gap: 16px; align-items: center; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { font-size: 18px; margin: 0; color: var(--accent); }
  header .spacer { flex: 1; }
  input, button { font: inherit; color: var(--text); background: #0b1015; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
  button { cursor: pointer; background: #1e2833; }
  button:hover { border-color: var(--accent); }
  main { display: grid; grid-template-columns: minmax(520px, 1.3fr) 1fr; gap: 16px; padding: 16px 20px; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; overflow: auto; }
  h2 { font-size: 15px; margin: 0 0 10px; }
  h3 { font-size: 13px; margin: 14px 0 6px; color: var(--dim); text-transform: uppercase; letter-spacing: .04em; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--dim); font-weight: 500; font-size: 12px; }
  tr.sandbox { cursor: pointer; }
  tr.sandbox:hover, tr.sandbox.selected { background: #1f2a36; }
  code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
  .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #2b3642; }
  .state.running { background: #1f4d2e; color: #8ee6a6; }
  .state.paused { background: #4d421f; color: #f0d37a; }
  .state.stopped { background: #3a3a48; color: #c4c4de; }
  .state.failed { background: #5a2323; color: #ffaaaa; }
  .state.destroyed { background: #2a2a2a; color: #999; }
  .dim { color: var(--dim); }
  #status { color: var(--dim); }
  #status.error { color: #ff8f8f; }
  .stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
  .stat { background: #0b1015; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
  .stat b { display: block; font-size: 16px; }
  #events td:last-child { max-width: 280px; overflow: hidden; text-overflow: ellipsis; }
  .actions { display: flex; gap: 8px; margin: 8px 0; }
  .empty { color: var(--dim); padding: 12px 0; }
</style>
</head>
<body>
<header>
  <h1>Hutch</h1>
  <span id="version" class="dim"></span>
  <span class="spacer"></span>
  <input id="api-key" type="password" placeholder="API key (hutch_…)" size="36" autocomplete="off">
  <button id="save-key">Connect</button>
  <span id="status">Paste the API key to connect.</span>
</header>
<main>
  <section>
    <h2>Sandboxes <span id="count" class="dim"></span></h2>
    <table>
      <thead><tr><th>ID</th><th>State</th><th>Backend</th><th>Template</th><th>Age</th><th>Resources</th><th>Deadline</th></tr></thead>
      <tbody id="sandboxes"></tbody>
    </table>
    <div id="no-sandboxes" class="empty" hidden>No sandboxes.</div>
  </section>
  <section id="detail">
    <h2 id="detail-title">Select a sandbox</h2>
    <div id="detail-body" hidden>
      <div class="actions">
        <button data-action="pause">Pause</button>
        <button data-action="resume">Resume</button>
        <button data-action="destroy">Destroy</button>
      </div>
      <div id="detail-info" class="dim mono"></div>
      <h3>Live stats</h3>
      <div class="stats" id="stats"></div>
      <h3>Processes</h3>
      <table><thead><tr><th>PID</th><th>Command</th><th>Tag</th><th>Status</th><th>Started</th></tr></thead><tbody id="processes"></tbody></table>
      <h3>Events</h3>
      <table><tbody id="events"></tbody></table>
    </div>
  </section>
</main>
<script src="/console.js"></script>
</body>
</html>
`;
