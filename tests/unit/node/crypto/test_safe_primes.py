import gmpy2
import pytest

from node.crypto.primes import random_safe_prime


@pytest.mark.parametrize("bits", [128, 256, 512])
def test_safe_prime_is_2p_half_plus_1_with_both_prime_and_exact_size(bits: int) -> None:
    for _ in range(3):
        p, p_half = random_safe_prime(bits)

        assert p == 2 * p_half + 1
        assert gmpy2.is_prime(p, 50) and gmpy2.is_prime(p_half, 50)
        assert p.bit_length() == bits and p >> (bits - 2) == 0b11


def test_two_safe_primes_multiply_to_exactly_twice_the_bits() -> None:
    p, _ = random_safe_prime(256)
    q, _ = random_safe_prime(256)

    assert (p * q).bit_length() == 512


def test_tiny_safe_primes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 64 bits"):
        random_safe_prime(32)
