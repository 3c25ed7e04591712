/**
 * Email over SMTP (SMTP_URL) with nodemailer. With no SMTP configured, mail goes
 * to a local outbox folder and its links are printed to the log, so the Quick
 * start works offline. Every send has a timeout.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../log.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** links in the mail, printed to the log in outbox mode */
  links: string[];
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export function createMailer(opts: { smtpUrl: string | undefined; from: string; outboxDir: string; log: Logger; printLinks?: boolean }): Mailer {
  if (opts.smtpUrl) {
    const transport = nodemailer.createTransport(opts.smtpUrl, { connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10000 } as never);
    return {
      async send(mail) {
        await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        opts.log.info({ to: mail.to, subject: mail.subject }, 'mail sent');
      },
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
      await fs.mkdir(opts.outboxDir, { recursive: true });
      const file = path.join(opts.outboxDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.to.replace(/[^a-z0-9@._-]/gi, '_')}.eml`);
      await fs.writeFile(file, info.message as Buffer);
      opts.log.info({ to: mail.to, subject: mail.subject, file, links: mail.links }, `mail written to the outbox (no SMTP_URL): ${mail.links.join(' ')}`);
      // Also plainly on the terminal, for the developer following the Quick start offline.
      if (opts.printLinks) process.stdout.write(`\n  Mail to ${mail.to}: "${mail.subject}"\n${mail.links.map((l) => `    ${l}\n`).join('')}  (saved in ${file})\n\n`);
    },
  };
}
