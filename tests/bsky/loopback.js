// SPDX-License-Identifier: ISC
//
// Preload for the local Bluesky network: node -r ./loopback.js network.js ...
//
// @atproto/dev-env starts about eight servers (PLC, PDS, AppView and its
// dataplane, bsync, Ozone, ...) and none of them takes a bind address, so by
// default they all listen on every interface. This preload rewrites every
// TCP listen() that names no host, or a wildcard host, to 127.0.0.1.
// Unix sockets, pipes and inherited handles are left alone.
//
// It also makes "localhost" resolve to 127.0.0.1 first: dev-env hands out
// http://localhost:PORT URLs, and a machine whose /etc/hosts lists ::1 first
// would otherwise connect to an address nobody listens on.

'use strict'

const net = require('net')
const dns = require('dns')

const LOOPBACK = process.env.BSKY_BIND_HOST || '127.0.0.1'
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]', '::0'])

dns.setDefaultResultOrder('ipv4first')

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))
}

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const a0 = args[0]
  if (a0 !== null && typeof a0 === 'object' && !Array.isArray(a0)) {
    // listen(options[, cb]); a handle object ({fd}, {_handle}) has no port
    const isTcp = a0.path === undefined && (a0.port !== undefined || Object.keys(a0).length === 0)
    if (isTcp && (a0.host === undefined || WILDCARD.has(a0.host))) {
      args[0] = { ...a0, host: LOOPBACK }
    }
  } else if (isPort(a0) || a0 === undefined || a0 === null) {
    // listen([port][, host][, backlog][, cb])
    if (a0 === undefined || a0 === null) args[0] = 0
    if (typeof args[1] === 'string') {
      if (WILDCARD.has(args[1])) args[1] = LOOPBACK
    } else {
      args.splice(1, 0, LOOPBACK)
    }
  } else if (typeof a0 === 'function') {
    // listen(cb)
    args.unshift(0, LOOPBACK)
  }
  // a string that is not a port is a pipe path: untouched
  return listen.apply(this, args)
}
