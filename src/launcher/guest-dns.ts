/**
 * Serves the guest's relayed DNS queries (agent protocol DNS) within bounds: MAX_DNS_IN_FLIGHT
 * queries at once (dns-limit.ts), answers dropped while the guest does not read its channel
 * (agent-session.ts OUTBOUND_SOFT_LIMIT), and both counted in one summary line per interval.
 */

import { DNS_TOKEN_TCP } from '../agent-protocol/messages.ts';
import { type DnsAsk, DnsLimiter, MAX_DNS_IN_FLIGHT } from '../network/dns-limit.ts';
import { relayDnsQuery, relayDnsQueryTcp } from '../network/dns-relay.ts';
import type { AgentSession } from './agent-session.ts';
import type { GuestLog } from './guest-log.ts';

const REPORT_INTERVAL_MS = 10_000;

export function serveGuestDns(
  session: AgentSession,
  log: GuestLog,
  ask: DnsAsk = relayDnsQuery,
  askTcp: DnsAsk = relayDnsQueryTcp,
): DnsLimiter {
  const limiter = new DnsLimiter(ask);
  let unsent = 0;
  let reported = { refused: 0, unsent: 0 };
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    timer = undefined;
    const refused = limiter.refused - reported.refused;
    const lost = unsent - reported.unsent;
    if (refused === 0 && lost === 0) return;
    reported = { refused: limiter.refused, unsent };
    log.line(
      'runcvm',
      `DNS relay: ${refused} guest queries answered SERVFAIL (over ${MAX_DNS_IN_FLIGHT} in flight), ${lost} answers dropped (guest not reading its channel)`,
    );
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(report, REPORT_INTERVAL_MS);
    timer.unref();
  };
  session.onDns = (token, query) => {
    const refusedBefore = limiter.refused;
    limiter.relay(query, (token & DNS_TOKEN_TCP) !== 0 ? askTcp : ask).then(
      (answer) => {
        if (answer && !session.dnsAnswer(token, answer)) unsent++;
        if (limiter.refused !== refusedBefore || unsent !== reported.unsent) schedule();
      },
      () => {},
    );
  };
  return limiter;
}
