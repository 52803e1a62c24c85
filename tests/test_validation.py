"""The one argument validator of the package (``mmaction_tcm.ops.validation``)."""
import pytest

from mmaction_tcm.ops.validation import check_int, check_match_arguments, check_positive


@pytest.mark.parametrize('value', [3, 4, 10])
def test_check_int_accepts_ints_in_range(value):
    check_int('n', value, minimum=3, maximum=10)


@pytest.mark.parametrize('kwargs,value,message', [
    (dict(minimum=1), 0, 'n must be an int >= 1, got 0'),
    (dict(minimum=1), 2.0, 'n must be an int >= 1, got 2.0'),
    (dict(minimum=0), True, 'n must be an int >= 0, got True'),
    (dict(minimum=1), '3', "n must be an int >= 1, got '3'"),
    (dict(minimum=0, maximum=3), 4, 'n must be an int in [0, 3], got 4'),
    (dict(maximum=3), 4, 'n must be an int <= 3, got 4'),
    (dict(), None, 'n must be an int, got None'),
    (dict(minimum=3, odd=True), 4, 'n must be an odd integer >= 3, got 4'),
    (dict(minimum=3, odd=True), 1, 'n must be an odd integer >= 3, got 1'),
])
def test_check_int_names_the_argument_and_the_expected_value(kwargs, value, message):
    with pytest.raises(ValueError) as err:
        check_int('n', value, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize('value', [0, -1.5, True, None, '1'])
def test_check_positive(value):
    with pytest.raises(ValueError, match=f'sigma must be a positive number, got {value!r}'):
        check_positive('sigma', value)


def test_match_arguments():
    check_match_arguments(3, 5, 100.0)  # ints are numbers too
    with pytest.raises(ValueError, match='patch_size must be an odd integer >= 3, got 15.0'):
        check_match_arguments(15.0, 5.0, 100.0)
    with pytest.raises(ValueError, match='temperature must be a positive number, got 0'):
        check_match_arguments(15, 5.0, 0)
