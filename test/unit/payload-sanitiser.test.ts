import { describePath, sanitiseJson, wellFormed } from '../../src/inbox/payload-sanitiser';

describe('sanitiseJson', () => {
  it('replaces U+0000 and lone surrogates with U+FFFD, and leaves proper pairs alone', () => {
    expect(wellFormed('a\u0000b')).toBe('a\uFFFDb');
    expect(wellFormed('x\ud800')).toBe('x\uFFFD');
    expect(wellFormed('\udc00y')).toBe('\uFFFDy');
    expect(wellFormed('emoji \ud83d\ude00')).toBe('emoji \ud83d\ude00');
  });

  it('reports each changed path, and which of them an applier relies on', () => {
    const payload = {
      id: 'evt_1',
      type: 'payment_intent.succeeded',
      data: {
        object: {
          id: 'pi_\ud800',
          customer_details: { name: 'Jane\u0000', address: { line1: 'x\udfff' } },
          metadata: { note: 'free\u0000text' },
          payment_status: 'pa\u0000id',
          items: [{ description: 'a\u0000' }, { price_id: 'p\u0000' }],
          'we\u0000ird': 1,
        },
      },
    };
    const { value, paths } = sanitiseJson(payload);
    expect(paths.map((p) => [describePath(p), p.reliedOn])).toEqual([
      ['$.data.object.id', true],
      ['$.data.object.customer_details.name', false],
      ['$.data.object.customer_details.address.line1', false],
      ['$.data.object.metadata.note', true],
      ['$.data.object.payment_status', true],
      ['$.data.object.items[0].description', false],
      ['$.data.object.items[1].price_id', true],
      ['$.data.object["we\uFFFDird"] (key)', true],
    ]);
    expect(JSON.stringify(value)).not.toMatch(/\\u0000|\\ud[89ab]|\\ud[c-f]/);
    expect(value.data.object.customer_details.name).toBe('Jane\uFFFD');
    expect(payload.data.object.customer_details.name).toBe('Jane\u0000'); // the input is not changed
  });

  it('returns the same object and no paths when nothing needs changing', () => {
    const payload = { id: 'evt_1', data: { object: { name: 'ok', n: 1, list: ['a'] } } };
    expect(sanitiseJson(payload)).toEqual({ value: payload, paths: [] });
    expect(sanitiseJson(payload).value).toBe(payload);
  });
});
