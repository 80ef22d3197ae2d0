using Acp.GptOss.Tests.Support;
using Microsoft.Playwright;

namespace Acp.GptOss.Tests.Browser;

/// <summary>The relay page answers a permission request with the user's choice in a dialog (relay with <c>--local-tools</c>).</summary>
public sealed class RelayPageToolTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("acp-gptoss-page-tools-").FullName;
    private AgentHarness _relay = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;
    private string _url = null!;

    private string Marker => Path.Combine(_folder, "ran.txt");

    public async Task InitializeAsync()
    {
        string scripts = Path.Combine(_folder, "script");
        Directory.CreateDirectory(scripts);
        await File.WriteAllTextAsync(Path.Combine(scripts, "1.txt"),
            $"<|channel|>commentary to=functions.run_command <|constrain|>json<|message|>{{\"command\":\"echo page > {Marker}\"}}<|call|>");
        await File.WriteAllTextAsync(Path.Combine(scripts, "2.txt"), "<|channel|>final<|message|>Done.<|return|>");
        _relay = AgentHarness.StartProcess("relay", "--listen", "127.0.0.1:0", "--local-tools", "--engine", "script", "--script", scripts);
        string listening = await _relay.WaitForErrorLineAsync(RelayPageTests.ListeningLine().IsMatch);
        _url = RelayPageTests.ListeningLine().Match(listening).Groups["url"].Value;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
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
        Directory.Delete(_folder, recursive: true);
    }

    [ChromiumFact]
    public async Task Accepting_the_dialog_allows_the_command()
    {
        string? asked = null;
        _page.Dialog += async (_, dialog) =>
        {
            asked = dialog.Message;
            await dialog.AcceptAsync();
        };

        await ChatAsync();

        Assert.Equal($"Allow echo page > {Marker}?", asked);
        Assert.Equal("page\n", await File.ReadAllTextAsync(Marker));
        await Assertions.Expect(_page.Locator(".message.tool").Last).ToContainTextAsync("allowed:");
    }

    [ChromiumFact]
    public async Task Dismissing_the_dialog_rejects_the_command()
    {
        _page.Dialog += async (_, dialog) => await dialog.DismissAsync();

        await ChatAsync();

        Assert.False(File.Exists(Marker));
        await Assertions.Expect(_page.Locator(".message.tool").Last).ToContainTextAsync("rejected:");
    }

    private async Task ChatAsync()
    {
        await _page.GotoAsync(_url);
        await _page.FillAsync("#token", RelayPageTests.RelayToken());
        await _page.ClickAsync("#connect");
        await Assertions.Expect(_page.Locator("#connection")).ToHaveTextAsync("connected");
        await _page.FillAsync("#prompt", "Run it.");
        await _page.ClickAsync("#send");
        await Assertions.Expect(_page.Locator(".stop").Nth(0)).ToHaveTextAsync("end_turn");
    }
}
