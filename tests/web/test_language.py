import re
from html import unescape

import pytest

from moonvault.catalog.models import Form

pytestmark = pytest.mark.django_db


def test_the_catalog_in_chinese(client, regolith):
    response = client.get("/zh-hans/samples/")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text
    for text in ["样品目录", "任务", "样品用途类别", "质量", "表取月壤", "研究样品", "嫦娥五号"]:
        assert text in response.text, text


def test_the_sample_page_in_chinese(client, regolith):
    response = client.get(f"/zh-hans/samples/{regolith.identifier}/")
    assert response.status_code == 200
    for text in ["月球样品", "样品谱系", "保管记录", "原始状态"]:
        assert text in response.text, text


def test_the_missions_page_in_chinese(client, mission_ce5):
    response = client.get("/zh-hans/missions/")
    assert "着陆点" in response.text


def switch(client, page: str, language: str):
    """Use the language form of `page` as a browser would."""
    html = client.get(page).text
    next_url = re.search(r'<input name="next" type="hidden" value="([^"]*)">', html)[1]
    return client.post("/i18n/setlang/", {"language": language, "next": unescape(next_url)})


def test_switching_to_chinese_keeps_the_page_and_its_filters(client, regolith):
    response = switch(client, "/samples/?pool=research&q=CE5", "zh-hans")
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/samples/?pool=research&q=CE5"
    assert "样品目录" in client.get(response["Location"]).text


def test_switching_back_to_english_from_a_chinese_page(client, mission_ce5):
    switch(client, "/missions/", "zh-hans")
    response = switch(client, "/zh-hans/missions/", "en")
    assert response["Location"] == "/missions/"
    assert "<h1>Missions</h1>" in client.get(response["Location"]).text


def test_the_admin_speaks_chinese_too(client, curator, regolith):
    client.force_login(curator)
    response = client.get(f"/zh-hans/admin/catalog/sample/{regolith.pk}/action/split/")
    assert response.status_code == 200
    assert "分样" in response.text
    assert "操作损耗" in response.text


def test_form_choices_are_translated(client, receive, mission_ce5):
    receive("CE5-TS-1", mission_ce5, 1000, form=Form.THIN_SECTION)
    assert "薄片" in client.get("/zh-hans/samples/").text
