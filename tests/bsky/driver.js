#!/usr/bin/env node
// SPDX-License-Identifier: ISC
//
// Acts as the other side of replywatch's Bluesky tests: creates accounts,
// posts, replies, sends DMs. Plain XRPC over HTTP to the PDS named in the
// network's JSON file (written by network.js), with Node's global fetch;
// it needs no node_modules.
//
// usage: node driver.js NETJSON COMMAND ARGS...
//   create-account HANDLE PASSWORD          prints the DID
//   session HANDLE PASSWORD                 prints createSession's JSON
//   post HANDLE PASSWORD TEXT [--mention HANDLE]... [--created-at RFC3339]
//                                           prints {"uri","cid","createdAt"}
//   reply HANDLE PASSWORD PARENT_URI TEXT [--mention HANDLE]... [--created-at T]
//                                           prints {"uri","cid","createdAt"}
//   (--created-at back- or post-dates the record; default: now)
//   wait-notification HANDLE PASSWORD URI [TIMEOUT_S]
//                                           prints the notification
//   app-password HANDLE PASSWORD NAME       prints the (privileged) password
//   chat-send HANDLE PASSWORD TO TEXT       TO is a DID or a handle;
//                                           prints the messageView
// Exit status: 0 ok, 1 request failed, 2 usage, 3 wait-notification timed out.

'use strict'

const fs = require('fs')

function die(code, msg) {
  process.stderr.write('driver: ' + msg + '\n')
  process.exit(code)
}

const USAGE = `usage: driver.js NETJSON COMMAND ARGS...
  create-account HANDLE PASSWORD
  session HANDLE PASSWORD
  post HANDLE PASSWORD TEXT [--mention HANDLE]... [--created-at RFC3339]
  reply HANDLE PASSWORD PARENT_URI TEXT [--mention HANDLE]... [--created-at RFC3339]
  wait-notification HANDLE PASSWORD URI [TIMEOUT_S]
  app-password HANDLE PASSWORD NAME
  chat-send HANDLE PASSWORD TO_DID_OR_HANDLE TEXT`

class XrpcError extends Error {
  constructor(nsid, status, body) {
    super(`${nsid}: HTTP ${status} ${body}`)
    this.status = status
  }
}

let net

async function xrpc(nsid, { method = 'GET', token, basic, params, body, proxy } = {}) {
  const url = new URL(`/xrpc/${nsid}`, net.pds)
  for (const [k, v] of Object.entries(params || {})) {
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one)
  }
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`
  if (proxy) headers['atproto-proxy'] = proxy
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new XrpcError(nsid, res.status, text)
  return text ? JSON.parse(text) : {}
}

function login(handle, password) {
  return xrpc('com.atproto.server.createSession', {
    method: 'POST',
    body: { identifier: handle, password },
  })
}

async function resolveHandle(handle) {
  const h = handle.replace(/^@/, '')
  if (h.startsWith('did:')) return h
  const r = await xrpc('com.atproto.identity.resolveHandle', { params: { handle: h } })
  return r.did
}

// Mention facets: one per --mention, at the first "@handle" in the text that
// is not yet taken. Offsets are UTF-8 byte offsets, as the lexicon demands.
async function mentionFacets(text, handles) {
  const facets = []
  const taken = new Set()
  for (const raw of handles) {
    const handle = raw.replace(/^@/, '')
    const needle = '@' + handle
    let at = text.indexOf(needle)
    while (at >= 0 && taken.has(at)) at = text.indexOf(needle, at + 1)
    if (at < 0) die(2, `text does not contain "${needle}"`)
    taken.add(at)
    const byteStart = Buffer.byteLength(text.slice(0, at), 'utf8')
    const byteEnd = byteStart + Buffer.byteLength(needle, 'utf8')
    facets.push({
      index: { byteStart, byteEnd },
      features: [{ $type: 'app.bsky.richtext.facet#mention', did: await resolveHandle(handle) }],
    })
  }
  return facets
}

function postOptions(args) {
  const rest = []
  const mentions = []
  let createdAt = null
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--mention') {
      if (i + 1 >= args.length) die(2, '--mention needs a handle')
      mentions.push(args[++i])
    } else if (args[i] === '--created-at') {
      createdAt = args[++i]
      if (!createdAt || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(createdAt)) {
        die(2, '--created-at needs an RFC 3339 date-time with a time zone')
      }
    } else {
      rest.push(args[i])
    }
  }
  return { rest, mentions, createdAt }
}

async function createPost(session, text, { mentions, createdAt }, reply) {
  const record = {
    $type: 'app.bsky.feed.post',
    text,
    createdAt: createdAt || new Date().toISOString(),
  }
  const facets = await mentionFacets(text, mentions)
  if (facets.length) record.facets = facets
  if (reply) record.reply = reply
  const r = await xrpc('com.atproto.repo.createRecord', {
    method: 'POST',
    token: session.accessJwt,
    body: { repo: session.did, collection: 'app.bsky.feed.post', record },
  })
  return { uri: r.uri, cid: r.cid, createdAt: record.createdAt }
}

function parseAtUri(uri) {
  const m = /^at:\/\/([^/]+)\/([^/]+)\/([^/?#]+)$/.exec(uri)
  if (!m) die(2, `not an at:// record URI: ${uri}`)
  return { repo: m[1], collection: m[2], rkey: m[3] }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const commands = {
  // The PDS reserves about a thousand names (acme, shop, store, ...). Such
  // a handle is given through the admin API: the account is created under
  // a placeholder handle, then renamed.
  async 'create-account'([handle, password]) {
    const h = handle.replace(/^@/, '').toLowerCase()
    const local = h.split('.')[0]
    const create = (hh) => xrpc('com.atproto.server.createAccount', {
      method: 'POST',
      body: { handle: hh, email: `${local}@example.test`, password },
    })
    try {
      return (await create(h)).did
    } catch (e) {
      if (!(e instanceof XrpcError && /"HandleNotAvailable".*Reserved handle/.test(e.message) &&
          net.admin_password)) throw e
    }
    const domain = h.slice(h.indexOf('.'))
    const placeholder = 'rsv' + Date.now().toString(36) + domain
    const r = await create(placeholder)
    await xrpc('com.atproto.admin.updateAccountHandle', {
      method: 'POST',
      basic: 'admin:' + net.admin_password,
      body: { did: r.did, handle: h },
    })
    return r.did
  },

  async session([handle, password]) {
    return JSON.stringify(await login(handle, password))
  },

  async post([handle, password, ...more]) {
    const opts = postOptions(more)
    if (opts.rest.length !== 1) die(2, USAGE)
    const s = await login(handle, password)
    return JSON.stringify(await createPost(s, opts.rest[0], opts))
  },

  async reply([handle, password, ...more]) {
    const opts = postOptions(more)
    if (opts.rest.length !== 2) die(2, USAGE)
    const [parentUri, text] = opts.rest
    const s = await login(handle, password)
    // The parent's record straight from the PDS that hosts it: no wait
    // for the AppView to index it.
    const p = parseAtUri(parentUri)
    const rec = await xrpc('com.atproto.repo.getRecord', { params: p })
    const parent = { uri: rec.uri, cid: rec.cid }
    const root = (rec.value && rec.value.reply && rec.value.reply.root) || parent
    const out = await createPost(s, text, opts, {
      root: { uri: root.uri, cid: root.cid },
      parent,
    })
    return JSON.stringify(out)
  },

  async 'wait-notification'([handle, password, uri, timeoutS]) {
    const timeout = timeoutS === undefined ? 30 : Number(timeoutS)
    if (!uri || !(timeout >= 0)) die(2, USAGE)
    const s = await login(handle, password)
    const deadline = Date.now() + timeout * 1000
    for (;;) {
      const r = await xrpc('app.bsky.notification.listNotifications', {
        token: s.accessJwt,
        params: { limit: 100 },
      })
      const n = (r.notifications || []).find((x) => x.uri === uri)
      if (n) return JSON.stringify(n)
      if (Date.now() >= deadline) {
        die(3, `no notification for ${uri} after ${timeout} s`)
      }
      await sleep(100)
    }
  },

  async 'app-password'([handle, password, name]) {
    if (!name) die(2, USAGE)
    const s = await login(handle, password)
    const r = await xrpc('com.atproto.server.createAppPassword', {
      method: 'POST',
      token: s.accessJwt,
      body: { name, privileged: true },
    })
    return r.password
  },

  async 'chat-send'([handle, password, to, text]) {
    if (text === undefined) die(2, USAGE)
    if (!net.chat_proxy) die(2, 'the network JSON has no chat_proxy')
    const s = await login(handle, password)
    const toDid = await resolveHandle(to)
    const proxy = net.chat_proxy
    const c = await xrpc('chat.bsky.convo.getConvoForMembers', {
      token: s.accessJwt,
      proxy,
      params: { members: [toDid] },
    })
    const m = await xrpc('chat.bsky.convo.sendMessage', {
      method: 'POST',
      token: s.accessJwt,
      proxy,
      body: { convoId: c.convo.id, message: { text } },
    })
    return JSON.stringify(m)
  },
}

const ARITY = {
  'create-account': 2,
  session: 2,
  post: 3,
  reply: 4,
  'wait-notification': 3,
  'app-password': 3,
  'chat-send': 4,
}

async function main() {
  const [netJson, cmd, ...args] = process.argv.slice(2)
  if (!netJson || !cmd || !commands[cmd]) die(2, USAGE)
  if (args.length < ARITY[cmd]) die(2, USAGE)
  try {
    net = JSON.parse(fs.readFileSync(netJson, 'utf8'))
  } catch (e) {
    die(2, `cannot read ${netJson}: ${e.message}`)
  }
  if (!net.pds) die(2, `${netJson} has no "pds" URL`)
  const out = await commands[cmd](args)
  process.stdout.write(out + '\n')
}

main().catch((e) => die(1, e instanceof XrpcError ? e.message : e && e.stack ? e.stack : String(e)))
