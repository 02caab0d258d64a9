// The GraphQL over HTTP server audit of the graphql-http package, against the URL given:
// one line per audit that is not "ok", then a summary; exit 1 if any is not "ok".
import { auditServer } from 'graphql-http';

const results = await auditServer({ url: process.argv[2] });
const failed = results.filter((result) => result.status !== 'ok');
for (const result of failed) {
  console.log(`${result.status} ${result.id} ${result.name}: ${result.reason}`);
}
console.log(`${results.length} audits, ${results.length - failed.length} ok`);
process.exit(failed.length ? 1 : 0);
