"""Refusals of the services speak the language of the request, and English stays as it was."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation

from moonvault.calls.models import CallStatus
from moonvault.calls.services import call_create, call_transition
from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.importers_nasa import nasa_catalog_import, nasa_json_parse
from moonvault.catalog.models import Pool, Sample
from moonvault.catalog.services import ChildSpec, sample_consume, sample_split, sample_weigh
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.identifiers import validate_orcid
from moonvault.core.units import parse_mass
from tests.conftest import GRAM


def fields(error: DomainError) -> list[str | None]:
    return [p.field for p in error.problems]


@pytest.mark.django_db
def test_a_negative_split_mass_is_refused_in_chinese_naming_the_child(receive, mission_ce5):
    parent = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        sample_split(actor=None, sample_id=parent.pk, children=[ChildSpec(-5)])
    assert refused.value.message == "质量不能为负数"
    assert type(refused.value.message) is str
    assert fields(refused.value) == ["children[0].mass_ug"]


@pytest.mark.django_db
def test_a_missing_sample_is_refused_in_chinese_and_in_english(db):
    with translation.override("zh-hans"), pytest.raises(NotFound) as refused:
        sample_weigh(actor=None, sample_id=987654, measured_ug=GRAM)
    assert refused.value.message == "月球样品 987654 不存在"
    assert fields(refused.value) == ["sample"]
    with translation.override("en"), pytest.raises(NotFound) as refused:
        sample_weigh(actor=None, sample_id=987654, measured_ug=GRAM)
    assert refused.value.message == "sample 987654 does not exist"


@pytest.mark.django_db
def test_consuming_more_than_a_sample_holds_keeps_the_numbers_in_the_chinese_text(
    receive, mission_ce5
):
    sample = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    with translation.override("zh-hans"), pytest.raises(Conflict) as refused:
        sample_consume(
            actor=None, sample_id=sample.pk, mass_ug=3 * GRAM, technique="ICP-MS", reason="test"
        )
    assert refused.value.message == ("无法消耗 3000000 µg：CE5C0400YJFM00505 仅有 2000000 µg")


@pytest.mark.django_db
def test_a_call_transition_out_of_order_is_refused_in_chinese(round_people, mission_ce5):
    committee, _applicants, _reviewers = round_people
    now = timezone.now()
    call = call_create(
        actor=committee,
        title="Chang'e-5 round",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=["powder"],
        release_budget_ug=10 * GRAM,
        per_proposal_cap_ug=GRAM,
        proposals_due=now + timedelta(days=30),
        review_due=(now + timedelta(days=60)).date(),
        decision_due=(now + timedelta(days=90)).date(),
    )
    with translation.override("zh-hans"), pytest.raises(Conflict) as refused:
        call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.REVIEW)
    with translation.override("zh-hans"):
        draft, open_ = str(CallStatus.DRAFT.label), str(CallStatus.OPEN.label)
    assert refused.value.message == f"当前为{draft}的申请征集只能转为：{open_}"
    assert draft != "draft"
    assert fields(refused.value) == ["status"]


def test_a_bad_orcid_check_digit_is_refused_in_chinese_naming_the_field():
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        validate_orcid("0000-0002-1825-0098", field="pi_orcid")
    assert refused.value.message == "'0000-0002-1825-0098' 的 ORCID 校验位错误"
    assert fields(refused.value) == ["pi_orcid"]


def test_a_mass_that_is_not_a_number_is_refused_in_chinese():
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        parse_mass("heavy", "g", field="mass")
    assert refused.value.message == "'heavy' 不是数字"
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        parse_mass("1.5", "furlong", field="mass")
    assert refused.value.message == "未知质量单位 'furlong'"


@pytest.mark.django_db
def test_a_page_shows_a_refusal_in_the_language_of_its_address(client):
    chinese = client.get("/zh-hans/samples/", {"mass_min": "heavy"})
    assert chinese.status_code == 400
    assert "&#x27;heavy&#x27; 不是数字" in chinese.content.decode()
    english = client.get("/samples/", {"mass_min": "heavy"})
    assert "&#x27;heavy&#x27; is not a number" in english.content.decode()


@pytest.mark.django_db
def test_an_api_refusal_in_english_is_unchanged(client):
    answer = client.get("/api/v1/missions/CE9", headers={"accept-language": "en"})
    assert answer.status_code == 404
    assert answer.json()["errors"] == [{"field": "code", "message": "mission 'CE9' does not exist"}]


@pytest.mark.django_db
def test_an_api_refusal_follows_the_accept_language_header(client):
    answer = client.get("/api/v1/missions/CE9", headers={"accept-language": "zh-hans"})
    assert answer.status_code == 404
    assert answer.json()["errors"] == [{"field": "code", "message": "任务 'CE9' 不存在"}]
    assert answer["Content-Language"] == "zh-hans"
    assert "Accept-Language" in answer["Vary"]
    # Without the header, English, and the next request is not left in Chinese.
    answer = client.get("/api/v1/missions/CE9")
    assert answer.json()["errors"][0]["message"] == "mission 'CE9' does not exist"


APOLLO_CSV = (
    b"ID,Mission,Type,Subtype,Weight (g),Pristine (%)\n"
    b"10017,Apollo11,Basalt,Ilmenite,973.6,42\n"
    b"10020,Apollo11,Basalt,Ilmenite,-3.2,\n"
)
NASA_JSON = Path(__file__).parent / "catalog" / "data" / "nasa_catalog.json"


def test_a_catalog_import_refuses_a_bad_row_in_chinese_and_in_english_naming_the_row():
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        apollo_catalog_import(actor=None, report=apollo_csv_parse(APOLLO_CSV))
    assert refused.value.message == "未导入任何内容：第 3 行，Weight (g) 列：质量 -3.2 g 为负数"
    assert fields(refused.value) == ["Weight (g)"]
    with translation.override("en"), pytest.raises(DomainError) as refused:
        apollo_catalog_import(actor=None, report=apollo_csv_parse(APOLLO_CSV))
    assert refused.value.message == (
        "nothing imported: row 3, column Weight (g): the mass -3.2 g is negative"
    )


@pytest.mark.django_db
def test_a_nasa_import_names_the_bad_records_in_chinese_and_its_dry_run_reports_in_chinese(
    facility,
):
    records = json.loads(NASA_JSON.read_text())
    records[4]["ORIGINALWEIGHT"] = -3
    records[9]["DISPLAYSAMPLENUMBER"] = "70017,5"
    data = json.dumps(records).encode()
    with translation.override("zh-hans"):
        report = nasa_json_parse(data)
        with pytest.raises(DomainError) as refused:
            nasa_catalog_import(actor=None, report=report)
        dry_run = nasa_catalog_import(actor=None, report=report, dry_run=True).lines()
    assert refused.value.message == (
        "未导入任何内容：第 5 条记录，ORIGINALWEIGHT 字段：重量 -3 g 为负数（另有 1 处问题）"
    )
    assert refused.value.problems[1].message == (
        "第 10 条记录，DISPLAYSAMPLENUMBER 字段：'70017,5' 不是 15555 的分样编号"
        "（290 或 15555,290）"
    )
    assert fields(refused.value) == ["ORIGINALWEIGHT", "DISPLAYSAMPLENUMBER"]
    assert dry_run[0] == "2 行无法导入："
    assert "  第 5 条记录，ORIGINALWEIGHT 字段：重量 -3 g 为负数" in dry_run
    assert dry_run[-1] == "试运行：未导入任何内容。"
    with translation.override("en"), pytest.raises(DomainError) as refused:
        nasa_catalog_import(actor=None, report=nasa_json_parse(data))
    assert refused.value.message == (
        "nothing imported: record 5, column ORIGINALWEIGHT: the weight -3 g is negative "
        "(and 1 more)"
    )
    assert Sample.objects.count() == 0
