// The embedded DynamoDB (dynalite) in a process of its own, so that it has a core to itself while
// its parent parses, validates and sends (scripts/local/dynamodb.ts, startLocalDynamoDB with
// `inChildProcess`). Plain JavaScript: it runs the same from source, from dist/ and from the
// installed package, with nothing to compile.
//
// argv[2]: the data folder, or "" for memory. Sends {port} over IPC once listening, or {error}.
// On the message "close", or when the parent goes, closes dynalite (its store flushed), sends
// {closed, error?} and exits.
import dynalite from 'dynalite';

const server = dynalite({ path: process.argv[2] || undefined, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
let closing = false;

function close() {
  if (closing) return;
  closing = true;
  server.close((error) => {
    if (process.connected) process.send({ closed: true, error: error ? String(error) : undefined }, () => process.exit(error ? 1 : 0));
    else process.exit(error ? 1 : 0);
  });
}

server.once('error', (error) => {
  process.send({ error: String(error) }, () => process.exit(1));
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'close') close();
});
process.on('disconnect', close);
