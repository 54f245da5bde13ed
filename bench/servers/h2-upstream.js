// An HTTP/2 server (TLS, ALPN h2) for the client benchmarks, run in its own process (fork) so
// that the client under test does not share its event loop. Its certificate is made at start
// (self-signed, for 127.0.0.1) and sent to the parent with the port, for the clients to trust.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createSecureServer } from 'node:http2';
import forge from 'node-forge';

function selfSigned() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: '127.0.0.1' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

const { cert, key } = selfSigned();
const body = Buffer.from('ok');
const server = createSecureServer({ cert, key, settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream) => {
  stream.on('error', () => undefined);
  // Drain any request body, then answer a small fixed response.
  stream.resume();
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length });
    stream.end(body);
  });
});
server.on('sessionError', () => undefined);
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port, cert }));
process.on('disconnect', () => process.exit(0));
