// Sends log records to opsloop's Loki push API through winston-loki, which encodes them as
// snappy-compressed protobuf (Loki's default encoding), authenticating with Basic auth.
//
// Environment: URL (the server's base URL), TOKEN (an ingest token), COUNT.
// Record n is logged at level info, warn or error (n % 3) with the label `order=o-<n>`.
const winston = require('winston')
const LokiTransport = require('winston-loki')

const count = Number(process.env.COUNT)
let failed = null
const transport = new LokiTransport({
  host: process.env.URL,
  basicAuth: `shipper:${process.env.TOKEN}`,
  labels: { job: 'cart', env: 'test' },
  json: false,
  batching: true,
  interval: 0.2,
  format: winston.format.printf(info => info.message),
  onConnectionError: error => { failed = error }
})
const logger = winston.createLogger({ level: 'debug', transports: [transport] })
const levels = ['info', 'warn', 'error']
for (let n = 0; n < count; n++) {
  logger.log({ level: levels[n % 3], message: `loki order ${n} packed`, labels: { order: `o-${n}` } })
}
transport.flush().then(() => {
  if (failed) {
    console.error(`push failed: ${failed.message}`)
    process.exit(1)
  }
  console.log(JSON.stringify({ sent: count, encoding: transport.batcher.contentType }))
  process.exit(0)
})
