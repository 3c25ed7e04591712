/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps what it receives, for the email tests. */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface CaughtMail {
  to: string[];
  raw: string;
  /** the message decoded enough to read links (quoted-printable undone) */
  text: string;
  subject: string;
}

export interface SmtpCatcher {
  url: string;
  mails: CaughtMail[];
  /** Waits (bounded) for the next mail to `to` after `after` mails were seen. */
  waitFor(to: string, opts?: { after?: number; timeoutMs?: number }): Promise<CaughtMail>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export async function startSmtpCatcher(): Promise<SmtpCatcher> {
  const mails: CaughtMail[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const text = decodeQuotedPrintable(raw).replace(/&amp;/g, '&');
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw, text, subject: /^Subject: (.*)$/m.exec(raw)?.[1] ?? '' });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitFor(to, { after = 0, timeoutMs = 10000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = mails.slice(after).find((x) => x.to.includes(to.toLowerCase()));
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first link in a mail whose URL contains `part`. */
export function linkIn(mail: CaughtMail, part: string): string {
  const m = [...mail.text.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((x) => x[0]).find((u) => u.includes(part));
  if (!m) throw new Error(`no link containing ${part} in mail "${mail.subject}":\n${mail.text.slice(0, 2000)}`);
  return m;
}
