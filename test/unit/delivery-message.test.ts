import { formatDeliveryMessage, type DeliveryMessageInput } from '../../src/delivery/delivery-message';

const base: DeliveryMessageInput = {
  planName: 'Pro monthly',
  durationDays: 30,
  periodEnd: new Date('2026-12-22T10:00:00Z'),
  links: [
    { channelTitle: 'Signals', url: 'https://t.me/+aaa', expiresAt: new Date('2026-11-23T10:00:00Z') },
    { channelTitle: 'Chat', url: 'https://t.me/+bbb', expiresAt: new Date('2026-11-23T09:30:00Z') },
  ],
};

describe('the delivery message', () => {
  it('names the plan, its period and every channel link', () => {
    const text = formatDeliveryMessage(base);
    expect(text).toContain('Plan: <b>Pro monthly</b> (30 days, until 2026-12-22)');
    expect(text).toContain('• <a href="https://t.me/+aaa">Signals</a>');
    expect(text).toContain('• <a href="https://t.me/+bbb">Chat</a>');
  });

  it('asks the customer to join before the earliest link expires', () => {
    expect(formatDeliveryMessage(base)).toContain('Please join before 2026-11-23 09:30 UTC');
  });

  it('escapes HTML in names Telegram would otherwise parse (parse_mode HTML)', () => {
    const text = formatDeliveryMessage({
      ...base,
      planName: 'VIP <b>& "friends"',
      links: [{ channelTitle: '<script>', url: 'https://t.me/+a"b&c', expiresAt: base.periodEnd }],
    });
    expect(text).toContain('VIP &lt;b&gt;&amp; &quot;friends&quot;');
    expect(text).toContain('<a href="https://t.me/+a&quot;b&amp;c">&lt;script&gt;</a>');
    expect(text).not.toContain('<script>');
  });

  it('leaves out the expiry line when there are no links, and stays within one Telegram message', () => {
    const text = formatDeliveryMessage({ ...base, links: [] });
    expect(text).not.toContain('Please join');
    expect(text.endsWith('(each admits one person, you):')).toBe(true);
    const many = Array.from({ length: 30 }, (_, i) => ({ channelTitle: `Channel ${i}`, url: `https://t.me/+${'x'.repeat(22)}${i}`, expiresAt: base.periodEnd }));
    expect(formatDeliveryMessage({ ...base, links: many }).length).toBeLessThan(4096);
  });
});
