"""dermedi remits: 835/277CA ingest -> classified denials -> the denial worklist.

Modules: :mod:`remits.ingest` (835 ingest, quarantine, reversal pairing, self-closing items),
:mod:`remits.frontend` (277CA rejections), :mod:`remits.classify` (group + CARC + RARC routing),
:mod:`remits.codes` (versioned CARC/RARC tables), :mod:`remits.priority` (deadlines, priority),
:mod:`remits.worklist` (statuses, hand-out, history, scrubber and submitted-claim links),
:mod:`remits.correct` (replacement 837P), :mod:`remits.summary` (analytics).  See docs/remits.md.
"""
