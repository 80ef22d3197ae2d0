using Microsoft.Playwright;

namespace Acp.GptOss.Tests.Browser;

/// <summary>
/// The relay's own page in headless Chromium (Debian's, driven by Playwright): it authenticates, chats over ACP on
/// the WebSocket with the answer streaming in, hides reasoning, shows the model status, and cancels a slow turn.
/// </summary>
public sealed class RelayPageTests : IAsyncLifetime
{
    private const string Answer = "Hello from the relay page.";
    private readonly string _scripts = Path.Combine(Path.GetTempPath(), $"acp-gptoss-page-{Guid.NewGuid():N}");
    private RelayBrowser _relay = null!;

    private IPage Page => _relay.Page;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_scripts);
        // Reasoning first, then a long final answer: slow enough (20 ms a token) to cancel in the middle.
        string story = string.Join(' ', Enumerable.Repeat("and then", 200));
        await File.WriteAllTextAsync(Path.Combine(_scripts, "1.txt"),
            $"<|channel|>analysis<|message|>SECRET reasoning.<|end|><|start|>assistant<|channel|>final<|message|>{Answer}<|return|>");
        await File.WriteAllTextAsync(Path.Combine(_scripts, "2.txt"), $"<|channel|>final<|message|>Once upon a time {story}<|return|>");
        _relay = await RelayBrowser.StartAsync("--engine", "script", "--script", _scripts, "--token-delay-ms", "20");
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        Directory.Delete(_scripts, recursive: true);
    }

    [ChromiumFact]
    public async Task The_page_authenticates_chats_with_the_answer_streaming_in_and_cancels_a_slow_turn()
    {
        await Page.GotoAsync(_relay.Url);
        await Page.FillAsync("#token", RelayBrowser.Token);
        await Page.ClickAsync("#connect");
        await Assertions.Expect(Page.Locator("#connection")).ToHaveTextAsync("connected");
        await Assertions.Expect(Page.Locator("#banner")).ToContainTextAsync("ready");

        await Page.FillAsync("#prompt", "Say hello.");
        await Page.ClickAsync("#send");
        await Assertions.Expect(Page.Locator(".stop").Nth(0)).ToHaveTextAsync("end_turn");
        string answer = await Page.Locator(".message.agent").Nth(0).TextContentAsync() ?? "";

        await Page.FillAsync("#prompt", "Tell me a long story.");
        await Page.ClickAsync("#send");
        // Cancel once the story has begun streaming.
        await Assertions.Expect(Page.Locator(".message.agent").Nth(1)).ToContainTextAsync("Once upon a time");
        await Page.ClickAsync("#cancel");
        await Assertions.Expect(Page.Locator(".stop").Nth(1)).ToHaveTextAsync("cancelled");
        string story = await Page.Locator(".message.agent").Nth(1).TextContentAsync() ?? "";
        string page = await Page.ContentAsync();

        Assert.Equal(Answer, answer);
        Assert.StartsWith("Once upon a time", story, StringComparison.Ordinal);
        Assert.True(story.Length < 200 * 9, "the story stopped before its end");
        Assert.DoesNotContain("SECRET", page, StringComparison.Ordinal);
        Assert.True(await Page.Locator("#prompt").IsEnabledAsync(), "the page is ready for the next prompt");
    }

    [ChromiumFact]
    public async Task A_wrong_token_is_refused_and_the_page_says_it_is_disconnected()
    {
        await Page.GotoAsync(_relay.Url);
        await Page.FillAsync("#token", "not-the-token");
        await Page.ClickAsync("#connect");

        await Assertions.Expect(Page.Locator("#connection")).ToContainTextAsync("disconnected");
        Assert.True(await Page.Locator("#prompt").IsDisabledAsync());
    }
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
