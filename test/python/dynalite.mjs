// An embedded DynamoDB (dynalite) for the Python tests: prints its endpoint, serves until stdin closes.
import dynalite from 'dynalite';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ endpoint: `http://127.0.0.1:${server.address().port}` })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
