using System.Text.RegularExpressions;
using Acp.GptOss.Tests.Support;
using Microsoft.Playwright;

namespace Acp.GptOss.Tests.Browser;

/// <summary>
/// The relay's own page in headless Chromium (Debian's, driven by Playwright): it authenticates, chats over ACP on
/// the WebSocket with the answer streaming in, hides reasoning, shows the model status, and cancels a slow turn.
/// </summary>
public sealed partial class RelayPageTests : IAsyncLifetime
{
    private const string Answer = "Hello from the relay page.";
    private readonly string _scripts = Path.Combine(Path.GetTempPath(), $"acp-gptoss-page-{Guid.NewGuid():N}");
    private AgentHarness _relay = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;
    private string _url = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_scripts);
        // Reasoning first, then a long final answer: slow enough (20 ms a token) to cancel in the middle.
        string story = string.Join(' ', Enumerable.Repeat("and then", 200));
        await File.WriteAllTextAsync(Path.Combine(_scripts, "1.txt"),
            $"<|channel|>analysis<|message|>SECRET reasoning.<|end|><|start|>assistant<|channel|>final<|message|>{Answer}<|return|>");
        await File.WriteAllTextAsync(Path.Combine(_scripts, "2.txt"), $"<|channel|>final<|message|>Once upon a time {story}<|return|>");
        _relay = AgentHarness.StartProcess("relay", "--listen", "127.0.0.1:0", "--engine", "script", "--script", _scripts, "--token-delay-ms", "20");
        string listening = await _relay.WaitForErrorLineAsync(ListeningLine().IsMatch);
        _url = ListeningLine().Match(listening).Groups["url"].Value;

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox.
            Args = ["--no-sandbox"],
        });
        _page = await _browser.NewPageAsync();
        _page.SetDefaultTimeout((float)AgentHarness.Timeout.TotalMilliseconds);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _relay.Kill();
        await _relay.DisposeAsync();
        Directory.Delete(_scripts, recursive: true);
    }

    [ChromiumFact]
    public async Task The_page_authenticates_chats_with_the_answer_streaming_in_and_cancels_a_slow_turn()
    {
        await _page.GotoAsync(_url);
        await _page.FillAsync("#token", RelayToken());
        await _page.ClickAsync("#connect");
        await Assertions.Expect(_page.Locator("#connection")).ToHaveTextAsync("connected");
        await Assertions.Expect(_page.Locator("#banner")).ToContainTextAsync("ready");

        await _page.FillAsync("#prompt", "Say hello.");
        await _page.ClickAsync("#send");
        await Assertions.Expect(_page.Locator(".stop").Nth(0)).ToHaveTextAsync("end_turn");
        string answer = await _page.Locator(".message.agent").Nth(0).TextContentAsync() ?? "";

        await _page.FillAsync("#prompt", "Tell me a long story.");
        await _page.ClickAsync("#send");
        // Cancel once the story has begun streaming.
        await Assertions.Expect(_page.Locator(".message.agent").Nth(1)).ToContainTextAsync("Once upon a time");
        await _page.ClickAsync("#cancel");
        await Assertions.Expect(_page.Locator(".stop").Nth(1)).ToHaveTextAsync("cancelled");
        string story = await _page.Locator(".message.agent").Nth(1).TextContentAsync() ?? "";
        string page = await _page.ContentAsync();

        Assert.Equal(Answer, answer);
        Assert.StartsWith("Once upon a time", story, StringComparison.Ordinal);
        Assert.True(story.Length < 200 * 9, "the story stopped before its end");
        Assert.DoesNotContain("SECRET", page, StringComparison.Ordinal);
        Assert.True(await _page.Locator("#prompt").IsEnabledAsync(), "the page is ready for the next prompt");
    }

    [ChromiumFact]
    public async Task A_wrong_token_is_refused_and_the_page_says_it_is_disconnected()
    {
        await _page.GotoAsync(_url);
        await _page.FillAsync("#token", "not-the-token");
        await _page.ClickAsync("#connect");

        await Assertions.Expect(_page.Locator("#connection")).ToContainTextAsync("disconnected");
        Assert.True(await _page.Locator("#prompt").IsDisabledAsync());
    }

    // The relay made the token on its first start, in the config folder the tests point it at.
    internal static string RelayToken() =>
        Environment.GetEnvironmentVariable("ACP_GPTOSS_RELAY_TOKEN")
        ?? File.ReadAllText(Path.Combine(TestEnvironment.Root, "config", "acp-gptoss", "relay-token")).Trim();

    [GeneratedRegex(@"Relay listening on (?<url>http://\S+?)/?$")]
    internal static partial Regex ListeningLine();
}

/// <summary>A fact that needs Chromium (Debian's <c>chromium</c> package); skipped, with the reason, without it.</summary>
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public static string? Executable { get; } =
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    public ChromiumFactAttribute()
    {
        Skip = Executable is null ? "Chromium is not installed (apt-get install chromium); .ci/run installs it." : null;
    }
}
