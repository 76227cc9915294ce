"""Settings no HTTP client could use are a settings error, not a traceback.

Originally `QA_LLM_BASE_URL=http://127.0.0.1:99999x/v1 qa ask …` ended in httpx.InvalidURL."""
from __future__ import annotations

import pytest

from qa.cli.main import main
from qa.errors import ConfigError
from qa.settings import Settings


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999x/v1", "http://127.0.0.1:99999/v1", "http://127.0.0.1:0/v1",
                                 "http://127.0.0.1:-1/v1", "http://[::1/v1", "ftp://example.org/v1", "127.0.0.1:8000",
                                 "http:///v1"])
@pytest.mark.parametrize("field", ["llm_base_url", "embedding_base_url", "chroma_url"])
def test_a_malformed_url_is_a_settings_error(field, url):
    with pytest.raises(ConfigError) as caught:
        Settings.load({field: url}, env={})
    assert str(caught.value).startswith(f"{field} 的地址") and "无效" in str(caught.value)


def test_the_cli_names_the_setting_and_hides_the_password(monkeypatch, capsys):
    monkeypatch.setenv("QA_LLM_BASE_URL", "http://user:hunter2-secret@127.0.0.1:99999x/v1")
    code = main(["ask", "宁夏"])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code and "llm_base_url 的地址" in err and "端口" in err
    assert "hunter2-secret" not in err and "Traceback" not in err


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "https://api.deepseek.com/v1", "http://[::1]:8080/v1",
                                 "http://u:p@llm.example:443/v1"])
def test_good_urls_still_load(url):
    assert Settings.load({"llm_base_url": url}, env={}).llm_base_url == url
