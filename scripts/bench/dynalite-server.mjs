// dynalite on a free loopback port, in memory, for benchmarks that must not share its thread.
// Sends the port to the parent over IPC; exits when the parent does.
import dynalite from 'dynalite';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('disconnect', () => process.exit(0));
