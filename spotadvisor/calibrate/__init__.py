"""Fit the risk model's parameters from spot traces: ``spotadvisor calibrate``.

:func:`spotadvisor.calibrate.run.calibrate` turns :class:`~spotadvisor.traces.ZoneTrace`
series into a :class:`~spotadvisor.calibrate.run.Calibration` (pure numerical functions
in ``events``, ``fit``, ``stockout``, ``weibull``, ``share``, ``correlation`` and
``alldown``); ``params`` writes and reads the parameter file, ``apply`` applies it to a
fleet file (``simulate --params``), ``validate`` compares the calibrated engine with a
trace. docs/calibrate.md states every rule and estimator.
"""
