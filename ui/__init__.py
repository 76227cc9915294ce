"""The Gradio web app over `qa.Assistant` (imported as `qa_ui`): see `qa_ui.app.build_app` and `launch`."""
