// The seed's design, for comparison: a Node http server relaying a streamed chat completion as SSE with the
// `openai` npm package. `node bench/node_relay.mjs <folder with node_modules/openai>` prints its port.
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.argv[2], "index.js"));
const OpenAI = require("openai");
const client = new (OpenAI.default || OpenAI)({
  apiKey: process.env.OPENAI_API_KEY, baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0, timeout: 20000,
});

const event = (data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

const server = http.createServer(async (req, res) => {
  let raw = "";
  for await (const piece of req) raw += piece;
  const { message } = JSON.parse(raw);
  try {
    const stream = await client.chat.completions.create({
      model: "gpt-4o", messages: [{ role: "user", content: message }], stream: true,
      stream_options: { include_usage: true },
    });
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store" });
    const parts = [];
    let usage = null;
    for await (const chunk of stream) {
      usage = chunk.usage || usage;
      for (const choice of chunk.choices || []) {
        const text = choice.delta && choice.delta.content;
        if (text) {
          parts.push(text);
          res.write(event({ type: "delta", text }));
        }
      }
    }
    res.end(event({ type: "done", message: parts.join(""), usage }));
  } catch (error) {
    res.writeHead(502, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: "upstream_error", message: String(error) } }));
  }
});
server.keepAliveTimeout = 0;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
