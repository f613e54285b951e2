// SPDX-License-Identifier: ISC
//
// Starts a real local Bluesky network (PLC, PDS, AppView; @atproto/dev-env's
// TestNetwork also always starts Ozone, the moderation service, which the
// PDS and AppView are wired to) and registers a chat service DID.
//
// usage: node -r ./loopback.js network.js OUT.json [--chat-port N]
//            [--plc-port N] [--pds-port N] [--appview-port N] [--ozone-port N]
//            [--schema NAME]
//
// Needs DB_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres)
// and REDIS_HOST (127.0.0.1:6379). A port that is not given is picked free
// by dev-env. Set TMPDIR to a per-run directory: the PDS keeps its data in
// random directories below it. LOG_ENABLED=false silences the servers' logs.
//
// The chat DID is a did:plc whose DID document has the service
// #bsky_chat -> http://127.0.0.1:CHATPORT; the PDS proxies chat.bsky.* to it
// when a client sends "atproto-proxy: <did>#bsky_chat". Nothing needs to
// listen on CHATPORT until the first chat request (see chat.py).
//
// When ready it writes OUT.json (atomically) and prints "READY <json>".
// SIGTERM or SIGINT: net.close(), exit 0. It also closes itself when its
// parent process goes away, so a killed test does not leave it behind.

'use strict'

const fs = require('fs')

const t0 = Date.now()

function usage(msg) {
  if (msg) console.error('network.js: ' + msg)
  console.error('usage: network.js OUT.json [--chat-port N] [--plc-port N] [--pds-port N] ' +
    '[--appview-port N] [--ozone-port N] [--schema NAME]')
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { out: null, schema: 'bsky', ports: {} }
  const portOpts = ['chat', 'plc', 'pds', 'appview', 'ozone']
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const m = /^--([a-z]+)-port$/.exec(a)
    if (m && portOpts.includes(m[1])) {
      const v = argv[++i]
      if (!/^\d+$/.test(v || '') || Number(v) > 65535) usage(`${a} needs a port number`)
      opts.ports[m[1]] = Number(v)
    } else if (a === '--schema') {
      opts.schema = argv[++i]
      if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema || '')) usage('--schema needs an identifier')
    } else if (a.startsWith('-')) {
      usage('unknown option ' + a)
    } else if (opts.out === null) {
      opts.out = a
    } else {
      usage('unexpected argument ' + a)
    }
  }
  if (!opts.out) usage('OUT.json is required')
  if (!opts.ports.chat) opts.ports.chat = 2585
  return opts
}

// dev-env says http://localhost:PORT; clients get the address we bind to.
function loopbackUrl(url) {
  const u = new URL(url)
  if (u.hostname === 'localhost') u.hostname = '127.0.0.1'
  return u.origin
}

// The AppView and Ozone migrate into schemas appview_<s> and ozone_<s> and
// never drop them. Data left there from an earlier run would refer to
// accounts the new PDS has never heard of, so drop them first.
async function resetSchemas(dbUrl, schema) {
  const { Client } = require('pg')
  const client = new Client({ connectionString: dbUrl })
  await client.connect()
  try {
    for (const s of [`appview_${schema}`, `ozone_${schema}`]) {
      await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
    }
  } finally {
    await client.end()
  }
}

async function registerChatDid(plcUrl, chatUrl) {
  const { Client: PlcClient } = require('@did-plc/lib')
  const { Secp256k1Keypair } = require('@atproto/crypto')
  const key = await Secp256k1Keypair.create()
  const plc = new PlcClient(plcUrl)
  const did = await plc.createDid({
    signingKey: key.did(),
    rotationKeys: [key.did()],
    handle: 'chat.test',
    pds: chatUrl,
    signer: key,
  })
  await plc.updateData(did, key, (doc) => {
    const services = { ...doc.services }
    delete services.atproto_pds // it is not a PDS
    services.bsky_chat = { type: 'BskyChatService', endpoint: chatUrl }
    return { ...doc, services }
  })
  return did
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const dbUrl = process.env.DB_POSTGRES_URL
  if (!dbUrl || !process.env.REDIS_HOST) {
    console.error('network.js: DB_POSTGRES_URL and REDIS_HOST must be set')
    process.exit(2)
  }

  await resetSchemas(dbUrl, opts.schema)

  const { TestNetwork } = require('@atproto/dev-env')
  const params = {
    dbPostgresUrl: dbUrl,
    dbPostgresSchema: opts.schema,
    plc: {},
    pds: { hostname: 'localhost' },
    bsky: {},
    ozone: {},
  }
  if (opts.ports.plc) params.plc.port = opts.ports.plc
  if (opts.ports.pds) params.pds.port = opts.ports.pds
  if (opts.ports.appview) params.bsky.port = opts.ports.appview
  if (opts.ports.ozone) params.ozone.port = opts.ports.ozone

  const net = await TestNetwork.create(params)

  let closing = false
  const close = async (why) => {
    if (closing) return
    closing = true
    console.log('closing (' + why + ')')
    const force = setTimeout(() => {
      console.error('network.js: close timed out, exiting')
      process.exit(1)
    }, 20000)
    force.unref()
    try {
      await net.close()
    } catch (e) {
      console.error('network.js: close failed:', e)
    }
    process.exit(0)
  }
  process.on('SIGTERM', () => close('SIGTERM'))
  process.on('SIGINT', () => close('SIGINT'))

  const chatUrl = `http://127.0.0.1:${opts.ports.chat}`
  const chatDid = await registerChatDid(net.plc.url, chatUrl)

  // for com.atproto.admin.* (HTTP basic auth as "admin"); driver.js uses it
  // to give accounts handles that the PDS reserves, like acme.test
  const adminPassword = Buffer.from(net.pds.adminAuth().replace(/^Basic /, ''), 'base64')
    .toString('utf8').replace(/^admin:/, '')

  const info = {
    pds: loopbackUrl(net.pds.url),
    plc: loopbackUrl(net.plc.url),
    appview: loopbackUrl(net.bsky.url),
    ozone: loopbackUrl(net.ozone.url),
    appview_did: net.bsky.ctx.cfg.serverDid,
    chat_url: chatUrl,
    chat_did: chatDid,
    chat_proxy: `${chatDid}#bsky_chat`,
    admin_password: adminPassword,
    pid: process.pid,
    startup_ms: Date.now() - t0,
  }
  const tmp = `${opts.out}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n')
  fs.renameSync(tmp, opts.out)
  console.log('READY ' + JSON.stringify(info))

  // Parent watchdog: started from a test shell with "&", our parent is that
  // shell. If it dies without tearing us down, shut down by ourselves.
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) close('parent ' + parent + ' exited')
  }, 1000).unref()
  // keep the event loop alive even if every server were unref'd
  setInterval(() => {}, 1 << 30)
}

main().catch((e) => {
  console.error('network.js: START FAILED:', e && e.stack ? e.stack : e)
  process.exit(1)
})
