using System.Net;
using Acp.GptOss.Relay;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Relay;

/// <summary>The relay's token file and its --listen rules.</summary>
public sealed class RelayTokenAndListenTests
{
    [Fact]
    public void The_token_file_is_created_with_mode_0600_in_a_0700_folder_and_reused_on_the_next_start()
    {
        string root = Path.Combine(Path.GetTempPath(), $"acp-gptoss-token-{Guid.NewGuid():N}");
        string directory = Path.Combine(root, "acp-gptoss");
        try
        {
            RelayToken first = RelayToken.Load(directory, fromEnvironment: null);
            RelayToken second = RelayToken.Load(directory, fromEnvironment: null);
            string path = Path.Combine(directory, RelayToken.FileName);

            Assert.True(first.Generated);
            Assert.False(second.Generated);
            Assert.Equal(first.Value, second.Value);
            Assert.Equal(first.Value, File.ReadAllText(path).Trim());
            Assert.Matches("^[A-Za-z0-9_-]{43}$", first.Value);
            // The project runs on Linux; the guard only tells the analyzer so.
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_environment_variable_wins_over_the_file_and_creates_nothing()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"acp-gptoss-token-{Guid.NewGuid():N}");

        RelayToken token = RelayToken.Load(directory, fromEnvironment: "from-env");

        Assert.Equal("from-env", token.Value);
        Assert.False(token.Generated);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void Matches_accepts_only_the_exact_token()
    {
        RelayToken token = RelayToken.Load(Path.GetTempPath(), fromEnvironment: "secret");

        Assert.True(token.Matches("secret"));
        Assert.False(token.Matches("secret "));
        Assert.False(token.Matches("Secret"));
        Assert.False(token.Matches(""));
        Assert.False(token.Matches(null));
    }

    [Theory]
    [InlineData("127.0.0.1:8765", false, "127.0.0.1", 8765)]
    [InlineData("127.0.0.1:0", false, "127.0.0.1", 0)]
    [InlineData("localhost:9000", false, "127.0.0.1", 9000)]
    [InlineData("[::1]:8765", false, "::1", 8765)]
    [InlineData("0.0.0.0:8765", true, "0.0.0.0", 8765)]
    public void Loopback_needs_nothing_and_other_addresses_need_allow_remote(string listen, bool allowRemote, string address, int port)
    {
        Assert.True(RelayOptions.TryParseListen(listen, allowRemote, out IPEndPoint? endPoint, out string? error), error);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("0.0.0.0:8765", "--allow-remote")]
    [InlineData("192.168.1.10:8765", "--allow-remote")]
    [InlineData("127.0.0.1", "ADDRESS:PORT")]
    [InlineData("nowhere:80", "ADDRESS:PORT")]
    [InlineData("127.0.0.1:99999", "ADDRESS:PORT")]
    public void Bad_or_remote_addresses_without_allow_remote_are_refused(string listen, string mention)
    {
        Assert.False(RelayOptions.TryParseListen(listen, allowRemote: false, out IPEndPoint? endPoint, out string? error));
        Assert.Null(endPoint);
        Assert.Contains(mention, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_relay_command_refuses_0_0_0_0_without_allow_remote_with_a_usage_error()
    {
        ProcessResult result = await ChildProcess.RunAsync("dotnet", [Repository.Agent, "relay", "--listen", "0.0.0.0:0", "--engine", "none"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--allow-remote", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }
}
