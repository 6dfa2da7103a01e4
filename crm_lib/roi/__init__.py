"""Retention ROI: whom to target, with what, and what it returns (notebook 05).

Modules (one concern each):

- :mod:`.economics`: expected profit of a contact, profit curves, optimal
  depth, break-even offer cost, value of a retained customer;
- :mod:`.empc`: MPC and EMPC (Verbraken, Verbeke & Baesens 2013), also with
  each customer's own CLV;
- :mod:`.features`: pre-treatment features of customers at a date;
- :mod:`.uplift`: the pilot's average effect, randomisation check, uplift
  models, Qini curves, policy values, response groups;
- :mod:`.budget`: greedy and exact selection under a budget, exclusion of
  natural and malicious churn, Monte Carlo of the ROI, pseudonyms;
- :mod:`.claims`: the "retention pays" claims recomputed as sensitivities;
- :mod:`.pipeline`: the steps notebook 05 strings together.
"""

from .._face import lazy_face

__getattr__, __dir__, __all__ = lazy_face(__name__, {
    "budget": None,
    "claims": None,
    "economics": None,
    "empc": None,
    "features": None,
    "uplift": None,
})

