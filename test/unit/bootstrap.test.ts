import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { isInsecureBootstrap, isPrivateBootstrap } from '../../src/node/bootstrap-kind.ts'
import { parseBootstrap } from '../../src/node/bootstrap.ts'
import { InvalidBootstrapError } from '../../src/node/errors.ts'
import { meshConnectionGater } from '../../src/node/libp2p-options.ts'

/** Asserts that `fn` throws an InvalidBootstrapError (by name) whose message matches `message`. */
function assertInvalid (fn: () => unknown, message?: string | RegExp): void {
  assert.throws(fn, (err: any) => {
    assert.equal(err.name, 'InvalidBootstrapError')
    assert.ok(err instanceof InvalidBootstrapError)
    if (typeof message === 'string') assert.ok(err.message.includes(message), `${JSON.stringify(err.message)} should contain ${JSON.stringify(message)}`)
    else if (message != null) assert.match(err.message, message)
    return true
  })
}

describe('parseBootstrap', { timeout: 10_000 }, () => {
  let id: string
  let other: string
  const tcpOk = { allowTcp: true }
  const tcpNo = { allowTcp: false }

  before(async () => {
    id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  })

  it('refuses an empty, missing or non-array list', () => {
    assertInvalid(() => parseBootstrap([], tcpOk), 'empty')
    assertInvalid(() => parseBootstrap(undefined, tcpOk), 'empty')
    assertInvalid(() => parseBootstrap(null as any, tcpOk))
    assertInvalid(() => parseBootstrap(`/ip4/1.2.3.4/tcp/443/wss/p2p/${id}` as any, tcpOk), 'array')
    assertInvalid(() => parseBootstrap({ length: 1, 0: `/ip4/1.2.3.4/tcp/443/wss/p2p/${id}` } as any, tcpOk))
  })

  it('refuses an invalid multiaddr string and names it in the message', () => {
    assertInvalid(() => parseBootstrap(['not-a-multiaddr'], tcpOk), 'not-a-multiaddr')
    assertInvalid(() => parseBootstrap(['/ip4/999.1.1.1/tcp/1/ws'], tcpOk), '/ip4/999.1.1.1/tcp/1/ws')
    // one bad entry among good ones is enough
    assertInvalid(() => parseBootstrap([`/ip4/1.2.3.4/tcp/443/wss/p2p/${id}`, '/bogus/thing'], tcpOk), '/bogus/thing')
  })

  it('refuses entries that are neither strings nor multiaddrs, with a named error', () => {
    assertInvalid(() => parseBootstrap([null as any], tcpOk), 'null')
    assertInvalid(() => parseBootstrap([42 as any], tcpOk), '42')
    assertInvalid(() => parseBootstrap([{ toString: () => 'x' } as any], tcpOk))
  })

  it('refuses a multiaddr that does not end in /p2p/<peer id>', () => {
    assertInvalid(() => parseBootstrap(['/ip4/1.2.3.4/tcp/443/wss'], tcpOk), '/p2p/')
    assertInvalid(() => parseBootstrap(['/dns4/relay.example.org/tcp/443/wss'], tcpOk), 'relay.example.org')
    // a peer id followed by something else names no relay
    assertInvalid(() => parseBootstrap([`/ip4/1.2.3.4/tcp/443/wss/p2p/${id}/p2p-circuit`], tcpOk), '/p2p/')
  })

  it('refuses a /p2p/ component that is not a peer id', () => {
    assertInvalid(() => parseBootstrap(['/ip4/1.2.3.4/tcp/443/wss/p2p/QmNotAPeer'], tcpOk), 'QmNotAPeer')
    assertInvalid(() => parseBootstrap(['/ip4/1.2.3.4/tcp/443/ws/p2p/notapeer'], tcpOk), 'notapeer')
  })

  it('accepts ws, wss and (when allowed) tcp relays, and returns each relay\'s peer id', () => {
    const list = [
      `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`,
      `/dns4/relay.example.org/tcp/443/wss/p2p/${other}`,
      `/ip4/1.2.3.4/tcp/443/tls/ws/p2p/${id}`,
      `/ip4/127.0.0.1/tcp/9091/p2p/${other}`
    ]
    const parsed = parseBootstrap(list, tcpOk)
    assert.deepEqual(parsed.map(b => b.multiaddr.toString()), list)
    assert.deepEqual(parsed.map(b => b.peerId), [id, other, id, other])
  })

  it('accepts Multiaddr objects as well as strings', () => {
    const ma = multiaddr(`/ip6/::1/tcp/9090/ws/p2p/${id}`)
    const [parsed] = parseBootstrap([ma], tcpNo)
    assert.equal(parsed!.multiaddr, ma)
    assert.equal(parsed!.peerId, id)
  })

  it('refuses tcp when allowTcp is false, but still takes ws and wss', () => {
    assertInvalid(() => parseBootstrap([`/ip4/127.0.0.1/tcp/9091/p2p/${id}`], tcpNo), 'ws or wss')
    assert.equal(parseBootstrap([`/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`], tcpNo).length, 1)
    assert.equal(parseBootstrap([`/dns4/relay.example.org/tcp/443/wss/p2p/${id}`], tcpNo).length, 1)
  })

  it('refuses transports nobody here can dial', () => {
    assertInvalid(() => parseBootstrap([`/ip4/1.2.3.4/udp/4001/quic-v1/p2p/${id}`], tcpOk), 'no transport')
    assertInvalid(() => parseBootstrap([`/p2p/${id}`], tcpOk), 'no transport')
  })

  it('isPrivateBootstrap: true when any relay is on a private or loopback address', () => {
    const at = (...list: string[]): boolean => isPrivateBootstrap(parseBootstrap(list, tcpOk))
    assert.equal(at(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(at(`/ip4/192.168.1.10/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(at(`/ip4/10.0.0.1/tcp/9091/p2p/${id}`), true)
    assert.equal(at(`/ip6/::1/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(at(`/dns4/localhost/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(at(`/dns4/relay.example.org/tcp/443/wss/p2p/${id}`, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${other}`), true)
    assert.equal(at(`/dns4/relay.example.org/tcp/443/wss/p2p/${id}`), false)
    assert.equal(at(`/ip4/8.8.8.8/tcp/443/wss/p2p/${id}`), false)
    assert.equal(isPrivateBootstrap([]), false)
  })

  it('isInsecureBootstrap: true only for plain ws://, never for wss (WebSockets does not match /wss)', () => {
    const at = (...list: string[]): boolean => isInsecureBootstrap(parseBootstrap(list, tcpOk))
    assert.equal(at(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(at(`/dns4/relay.example.org/tcp/80/ws/p2p/${id}`), true)
    assert.equal(at(`/dns4/relay.example.org/tcp/443/wss/p2p/${id}`, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${other}`), true)
    assert.equal(at(`/dns4/relay.example.org/tcp/443/wss/p2p/${id}`), false)
    assert.equal(at(`/ip4/127.0.0.1/tcp/443/wss/p2p/${id}`), false)
    assert.equal(at(`/ip4/1.2.3.4/tcp/443/tls/ws/p2p/${id}`), false)
    assert.equal(at(`/dns4/relay.example.org/tcp/443/tls/sni/relay.example.org/ws/p2p/${id}`), false)
    assert.equal(at(`/ip4/127.0.0.1/tcp/9091/p2p/${id}`), false, 'tcp is not WebSockets')
    assert.equal(isInsecureBootstrap([]), false)
  })
})

describe('meshConnectionGater', { timeout: 10_000 }, () => {
  let id: string
  before(async () => {
    id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  })

  const deny = async (flags: { allowPrivateAddresses: boolean, allowInsecureWebSockets: boolean }, address: string): Promise<boolean | undefined> => {
    return meshConnectionGater(flags).denyDialMultiaddr?.(multiaddr(address))
  }
  const strict = { allowPrivateAddresses: false, allowInsecureWebSockets: false }
  const lax = { allowPrivateAddresses: true, allowInsecureWebSockets: true }

  it('denies a private ws:// relay when both flags are false', async () => {
    assert.equal(await deny(strict, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(await deny(strict, `/ip4/192.168.1.2/tcp/9090/ws/p2p/${id}`), true)
  })

  it('allows a private ws:// relay when both flags are true', async () => {
    assert.equal(await deny(lax, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), false)
    assert.equal(await deny(lax, `/ip4/192.168.1.2/tcp/9090/ws`), false)
    assert.equal(await deny(lax, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}/p2p-circuit/webrtc/p2p/${id}`), false)
  })

  it('applies each flag on its own', async () => {
    // private but secure: only allowPrivateAddresses matters
    assert.equal(await deny({ allowPrivateAddresses: false, allowInsecureWebSockets: true }, `/ip4/127.0.0.1/tcp/443/wss/p2p/${id}`), true)
    assert.equal(await deny({ allowPrivateAddresses: true, allowInsecureWebSockets: false }, `/ip4/127.0.0.1/tcp/443/wss/p2p/${id}`), false)
    // public but insecure: only allowInsecureWebSockets matters
    assert.equal(await deny({ allowPrivateAddresses: true, allowInsecureWebSockets: false }, `/ip4/8.8.8.8/tcp/80/ws/p2p/${id}`), true)
    assert.equal(await deny({ allowPrivateAddresses: false, allowInsecureWebSockets: true }, `/ip4/8.8.8.8/tcp/80/ws/p2p/${id}`), false)
    // private ws needs both
    assert.equal(await deny({ allowPrivateAddresses: true, allowInsecureWebSockets: false }, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), true)
    assert.equal(await deny({ allowPrivateAddresses: false, allowInsecureWebSockets: true }, `/ip4/127.0.0.1/tcp/9090/ws/p2p/${id}`), true)
  })

  it('never denies a public wss:// relay', async () => {
    for (const allowPrivateAddresses of [false, true]) {
      for (const allowInsecureWebSockets of [false, true]) {
        const flags = { allowPrivateAddresses, allowInsecureWebSockets }
        for (const address of [
          `/dns4/relay.example.org/tcp/443/wss/p2p/${id}`,
          `/ip4/8.8.8.8/tcp/443/wss/p2p/${id}`,
          `/ip4/8.8.8.8/tcp/443/tls/ws/p2p/${id}`,
          `/dns4/relay.example.org/tcp/443/tls/sni/relay.example.org/ws/p2p/${id}`
        ]) {
          assert.equal(await deny(flags, address), false, `${address} with ${JSON.stringify(flags)}`)
        }
      }
    }
  })
})
