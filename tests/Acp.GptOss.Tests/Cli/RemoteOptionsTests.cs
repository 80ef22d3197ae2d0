using Acp.GptOss.Models;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Cli;

/// <summary><c>--engine remote</c>'s options and the config file's <c>remote</c> entry: read right, refused clearly.</summary>
public sealed class RemoteOptionsTests : IDisposable
{
    private readonly TempHome _home = new();

    [Theory]
    [InlineData(new[] { "--engine", "remote" }, "--engine remote needs --endpoint URL")]
    [InlineData(new[] { "--engine", "remote", "--endpoint", "ftp://gpu-box/" }, "--endpoint must be an http:// or https:// URL, not \"ftp://gpu-box/\"")]
    [InlineData(new[] { "--endpoint", "http://gpu-box:8080/", "--remote-kind", "triton" }, "--remote-kind takes llama-server")]
    [InlineData(new[] { "--endpoint", "http://gpu-box:8080/", "--api-key-file", "/no/such/key" }, "The API key file /no/such/key cannot be read")]
    [InlineData(new[] { "--endpoint", "http://gpu-box:8080/", "--remote-stall-seconds", "0" }, "--remote-stall-seconds must be above 0")]
    public async Task Bad_remote_options_are_refused_before_the_agent_starts(string[] args, string reason)
    {
        CliResult result = await CliRunner.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_config_files_remote_entry_is_read_with_its_key_file_relative_to_the_config_folder()
    {
        _home.WriteConfig("""{"remote": {"endpoint": "http://gpu-box:8000/", "apiKeyFile": "vllm.key", "model": "openai/gpt-oss-120b", "kind": "vllm"}}""");

        ModelConfig config = ModelConfig.Load(_home.Environment);

        Assert.Equal(new RemoteConfig("http://gpu-box:8000/", Path.Combine(_home.ConfigDirectory, "vllm.key"), "openai/gpt-oss-120b", "vllm"), config.Remote);
    }

    [Theory]
    [InlineData("""{"remote": "http://gpu-box:8000/"}""", "\"remote\" must be an object")]
    [InlineData("""{"remote": {"model": "x"}}""", "\"remote\" needs an \"endpoint\"")]
    [InlineData("""{"remote": {"endpoint": 8000}}""", "\"endpoint\" must be a non-empty string, not 8000")]
    public void A_malformed_remote_entry_is_a_clear_error_that_names_the_file(string json, string reason)
    {
        _home.WriteConfig(json);

        ModelConfigException e = Assert.Throws<ModelConfigException>(() => ModelConfig.Load(_home.Environment));

        Assert.Contains(Path.Combine(_home.ConfigDirectory, "config.json"), e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_list_shows_a_remote_server_that_cannot_be_reached_with_why()
    {
        // Port 1 on loopback refuses at once.
        CliResult result = await CliRunner.RunAsync("models", "list", "--endpoint", "http://127.0.0.1:1/", "--json");

        Assert.Equal(0, result.ExitCode);
        using var line = System.Text.Json.JsonDocument.Parse(result.Lines.Last());
        Assert.Equal("remote", line.RootElement.GetProperty("source").GetString());
        Assert.Equal("error", line.RootElement.GetProperty("state").GetString());
        Assert.Equal("http://127.0.0.1:1/", line.RootElement.GetProperty("path").GetString());
        Assert.Contains("Cannot reach the server at http://127.0.0.1:1/", line.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    public void Dispose() => _home.Dispose();
}
