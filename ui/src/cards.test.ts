import { describe, expect, it } from 'vitest';
import { cardLayout, groupCards, isMetric, metricPrefix, moveCard, orderCards, togglePin } from './cards';

describe('metric cards', () => {
  it('groups metrics by the prefix of their name', () => {
    expect(metricPrefix('train/loss')).toBe('train/');
    expect(metricPrefix('val_acc')).toBe('val_');
    expect(metricPrefix('eval:loss')).toBe('eval:');
    expect(metricPrefix('loss')).toBe('');
    expect(groupCards(['train/loss', 'val_loss', 'train/acc', 'lr', 'val_acc', 'grad_norm'])).toEqual([
      { prefix: 'train/', title: 'train', cards: ['train/loss', 'train/acc'] },
      { prefix: 'val_', title: 'val', cards: ['val_loss', 'val_acc'] },
      // A prefix only one metric has is no group: grad_norm joins the ungrouped ones.
      { prefix: '', title: '', cards: ['lr', 'grad_norm'] },
    ]);
  });

  it('leaves constants and one-point series out', () => {
    expect(isMetric({ name: 'loss', points: 10 })).toBe(true);
    expect(isMetric({ name: 'batch_size', points: 10, constant: true })).toBe(false);
    expect(isMetric({ name: 'final', points: 1 })).toBe(false);
  });

  it('orders pinned cards first, then moved ones, then the run’s order', () => {
    const series = ['loss', 'acc', 'lr', 'grad_norm', 'batch'].map((name) => ({ name, points: 5, constant: name === 'batch' }));
    expect(orderCards(series, { pinned: ['lr'], order: ['grad_norm'] })).toEqual(['lr', 'grad_norm', 'loss', 'acc']);
    // Names the run lacks (another run's pins) are ignored.
    expect(orderCards(series, { pinned: ['gone'], order: [] })).toEqual(['loss', 'acc', 'lr', 'grad_norm']);
    expect(cardLayout(['lr', 'train/loss', 'train/acc'], ['lr'])).toEqual([
      { prefix: 'pinned', title: 'Pinned', cards: ['lr'] },
      { prefix: 'train/', title: 'train', cards: ['train/loss', 'train/acc'] },
    ]);
  });

  it('pins, moves up and down, and drops a card before another', () => {
    let a = togglePin({ pinned: [], order: [] }, 'lr');
    expect(a.pinned).toEqual(['lr']);
    a = togglePin(a, 'lr');
    expect(a.pinned).toEqual([]);
    const shown = ['loss', 'acc', 'lr'];
    expect(moveCard(a, shown, 'lr', -1).order).toEqual(['loss', 'lr', 'acc']);
    expect(moveCard(a, shown, 'loss', -1).order).toEqual(['loss', 'acc', 'lr']);
    expect(moveCard(a, shown, 'loss', 0, 'lr').order).toEqual(['acc', 'loss', 'lr']);
    // A pinned card moves among the pinned ones only.
    const pinned = { pinned: ['lr', 'acc'], order: [] };
    expect(moveCard(pinned, ['lr', 'acc', 'loss'], 'acc', -1)).toEqual({ pinned: ['acc', 'lr'], order: [] });
    expect(moveCard(pinned, ['lr', 'acc', 'loss'], 'nope', 1)).toBe(pinned);
  });
});
