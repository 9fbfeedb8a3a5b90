import pytest

from leads.variables import MAX_VARIABLE_NAME_LENGTH, name_cache, normalize_variable_name


@pytest.mark.parametrize(
    "name",
    [
        "first_name",
        "First Name",
        "firstName",
        "FirstName",
        "FIRST_NAME",
        "first-name",
        " first  name ",
    ],
)
def test_spellings_of_one_name_normalise_alike(name):
    assert normalize_variable_name(name) == "first_name"


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("company", "company"),
        ("HTMLTitle", "html_title"),
        ("linkedinURL", "linkedin_url"),
        ("Prénom", "prénom"),
        ("role 2", "role_2"),
        ("__x__", "x"),
    ],
)
def test_other_names(name, normal):
    assert normalize_variable_name(name) == normal


def test_only_names_a_variable_may_have_are_cached():
    name_cache.cache_clear()
    longest = "n" * MAX_VARIABLE_NAME_LENGTH
    assert normalize_variable_name(longest) == longest
    assert name_cache.cache_info().currsize == 1

    for n in range(500):
        name = f"Name {n} " + "x" * MAX_VARIABLE_NAME_LENGTH
        assert normalize_variable_name(name) == f"name_{n}_" + "x" * MAX_VARIABLE_NAME_LENGTH
    assert name_cache.cache_info().currsize == 1
