using System.Text.RegularExpressions;
using Acp.GptOss.Tests.Support;
using Microsoft.Playwright;

namespace Acp.GptOss.Tests.Browser;

/// <summary>A relay process and a headless Chromium page (Debian's, driven by Playwright) to open it in.</summary>
internal sealed partial class RelayBrowser : IAsyncDisposable
{
    private readonly AgentHarness _relay;
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private RelayBrowser(AgentHarness relay, string url, IPlaywright playwright, IBrowser browser, IPage page)
    {
        _relay = relay;
        Url = url;
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    /// <summary>The relay's page address.</summary>
    public string Url { get; }

    public IPage Page { get; }

    /// <summary>The relay's token: made on its first start, in the config folder the tests point it at.</summary>
    public static string Token =>
        Environment.GetEnvironmentVariable("ACP_GPTOSS_RELAY_TOKEN")
        ?? File.ReadAllText(Path.Combine(TestEnvironment.Root, "config", "acp-gptoss", "relay-token")).Trim();

    /// <summary>Starts <c>acp-gptoss relay --listen 127.0.0.1:0</c> with <paramref name="arguments"/>, and a browser page.</summary>
    public static async Task<RelayBrowser> StartAsync(params string[] arguments)
    {
        AgentHarness relay = AgentHarness.StartProcess(["relay", "--listen", "127.0.0.1:0", .. arguments]);
        string listening = await relay.WaitForErrorLineAsync(ListeningLine().IsMatch);
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox.
            Args = ["--no-sandbox"],
        });
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout((float)AgentHarness.Timeout.TotalMilliseconds);
        return new RelayBrowser(relay, ListeningLine().Match(listening).Groups["url"].Value, playwright, browser, page);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _relay.Kill();
        await _relay.DisposeAsync();
    }

    [GeneratedRegex(@"Relay listening on (?<url>http://\S+?)/?$")]
    private static partial Regex ListeningLine();
}
