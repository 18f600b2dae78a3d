"""Delinquency (SPEC §2 Delinquency): the daily run through grace, notices, suspension
and termination for non-payment, the letters, and reinstatement.

- ``policy``: the days past due of each stage, per group and with grace extensions;
- ``standing``: what each group owes past due, and since when, in a fixed number of
  statements;
- ``episodes``: assessing one group on a date (the only place that moves a group through
  the stages or back to ACTIVE);
- ``letters``: drafting a stage's letter once per episode;
- ``run`` and ``jobs``: the daily run over every group, as a job.
"""
