"""The order shop: the seeds' order workflow grown to use every kind of task in one template.

Payment (command, decision, listener), preprocessing processes chosen per order (dynamic process),
fulfilment watched by a monitor (command, interval task, listener re-keyed at run time, trigger task),
paperwork in parallel processes, one shipping process per parcel, and the first carrier's pickup
(parallel composite task). ``workflow`` defines it, ``orders`` creates one, ``services`` plays the
payment provider, the warehouse and the carriers, ``worker`` runs it; ``python -m examples.order`` runs
the whole demo.
"""
