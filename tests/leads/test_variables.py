import pytest

from leads.variables import normalize_variable_name


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
