"""A hypothesis strategy for any JSON value a hostile file can hold: NaN, infinities, huge integers,
odd strings, nested lists and objects (the property tests of the data edges share it)."""

from hypothesis import strategies as st

SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.sampled_from([10**400, -(10**400)])
           | st.floats() | st.text(max_size=12))


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


JSON = st.recursive(SCALARS, _containers, max_leaves=12)
