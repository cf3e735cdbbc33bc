"""``chainrule playground``: prints its URL, serves the page, stops on Ctrl+C; clear errors."""

import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from chainrule.cli import main


def test_the_command_serves_until_interrupted():
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "playground", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"<title>chainrule playground</title>" in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
        assert "interrupted" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_a_taken_port_and_a_bad_one_are_one_line_errors(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port)]) == 2
    assert f"cannot listen on port {port}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["playground", "--port", "70000"])
    assert "must be from 0 to 65535, got 70000" in capsys.readouterr().err
