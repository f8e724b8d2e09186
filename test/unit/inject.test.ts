import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InjectError, InvalidPublishOptionsError } from '../../src/publish/errors.ts'
import { dropInTag, injectDropIn } from '../../src/publish/inject.ts'
import { checkTagInit } from '../../src/publish/site.ts'
import { encodeSiteKey } from '../../src/content/manifest-signature.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'

const RELAY = '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const TAG = `<script type="module" src="/swarmsite.js" data-bootstrap="${RELAY}" data-swarmsite></script>`

describe('injectDropIn', () => {
  it('writes the tag before the page\'s first script in <head>, else at the end of <head>', () => {
    assert.equal(injectDropIn('<html><head><title>t</title></head><body></body></html>', { bootstrap: [RELAY] }),
      `<html><head><title>t</title>${TAG}\n</head><body></body></html>`)
    assert.equal(injectDropIn('<head><meta charset="utf-8"><script type="module" src="/assets/app.js"></script></head>', { bootstrap: [RELAY] }),
      `<head><meta charset="utf-8">${TAG}\n<script type="module" src="/assets/app.js"></script></head>`)
  })

  it('without a <head>: at the start of <body>, else after <html> or the doctype', () => {
    assert.equal(injectDropIn('<body class="x"><p>hi</p></body>', { bootstrap: [RELAY] }), `<body class="x">\n${TAG}<p>hi</p></body>`)
    assert.equal(injectDropIn('<!doctype html><p>hi', { bootstrap: [RELAY] }), `<!doctype html>\n${TAG}<p>hi`)
  })

  it('replaces a tag it wrote before instead of adding a second', () => {
    const once = injectDropIn('<html><head></head></html>', { bootstrap: [RELAY], deadlineMs: 100 })
    const twice = injectDropIn(once, { bootstrap: [RELAY] })
    assert.equal(twice, `<html><head>${TAG}\n</head></html>`)
    assert.equal(twice.match(/data-swarmsite/g)?.length, 1)
  })

  it('escapes attribute values and writes every setting', () => {
    const tag = dropInTag({ bootstrap: [RELAY, RELAY], manifest: '/a "b".json', deadlineMs: 8000, iceServers: [{ urls: 'stun:stun.example.org' }], uploadMaxBytesPerSecond: 1024, preferPeers: true })
    assert.equal(tag, `<script type="module" src="/swarmsite.js" data-bootstrap="${RELAY} ${RELAY}" data-manifest="/a &quot;b&quot;.json" data-deadline-ms="8000" ` +
      'data-ice-servers="[{&quot;urls&quot;:&quot;stun:stun.example.org&quot;}]" data-upload-max="1024" data-prefer-peers="on" data-swarmsite></script>')
    assert.doesNotMatch(dropInTag({ bootstrap: [RELAY], preferPeers: false }), /prefer-peers/)
  })

  it('checks preferPeers is a boolean', () => {
    assert.throws(() => checkTagInit({ bootstrap: [RELAY], preferPeers: 'yes' as any }), (err: Error) => err instanceof InvalidPublishOptionsError && /preferPeers must be true or false, got "yes"/.test(err.message))
  })

  it('writes the site public key as data-public-key, and refuses one that is not a site key', async () => {
    const key = await generateKeyPair('Ed25519')
    const publicKey = encodeSiteKey(key.publicKey)
    checkTagInit({ bootstrap: [RELAY], publicKey })
    assert.equal(dropInTag({ bootstrap: [RELAY], publicKey }), `<script type="module" src="/swarmsite.js" data-bootstrap="${RELAY}" data-public-key="${publicKey}" data-swarmsite></script>`)
    for (const bad of ['uAAAA', 'CAESI', 42]) {
      assert.throws(() => checkTagInit({ bootstrap: [RELAY], publicKey: bad as any }), (err: Error) => err instanceof InvalidPublishOptionsError && /^publicKey: /.test(err.message))
    }
  })

  it('refuses text that is not a page, naming it', () => {
    assert.throws(() => injectDropIn('just text', { bootstrap: [RELAY] }, 'notes.html'), (err: Error) => err instanceof InjectError && err.name === 'InjectError' && /notes\.html has no <html>/.test(err.message))
  })
})

describe('injectDropIn and a hand-written drop-in tag', () => {
  it('replaces a <script src=".../swarmsite.js"> the page already had, and leaves other scripts alone', () => {
    const page = '<html><head><script type="module" src="/swarmsite.js" data-bootstrap="/ip4/127.0.0.1/tcp/1/ws/p2p/x"></script>\n<script src="/not-swarmsite.js"></script></head></html>'
    assert.equal(injectDropIn(page, { bootstrap: [RELAY] }), `<html><head>${TAG}\n<script src="/not-swarmsite.js"></script></head></html>`)
  })
})
