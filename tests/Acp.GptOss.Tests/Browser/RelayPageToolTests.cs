using Microsoft.Playwright;

namespace Acp.GptOss.Tests.Browser;

/// <summary>The relay page answers a permission request with the user's choice in a dialog (relay with <c>--local-tools</c>).</summary>
public sealed class RelayPageToolTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("acp-gptoss-page-tools-").FullName;
    private RelayBrowser _relay = null!;

    private IPage Page => _relay.Page;

    private string Marker => Path.Combine(_folder, "ran.txt");

    public async Task InitializeAsync()
    {
        string scripts = Path.Combine(_folder, "script");
        Directory.CreateDirectory(scripts);
        await File.WriteAllTextAsync(Path.Combine(scripts, "1.txt"),
            $"<|channel|>commentary to=functions.run_command <|constrain|>json<|message|>{{\"command\":\"echo page > {Marker}\"}}<|call|>");
        await File.WriteAllTextAsync(Path.Combine(scripts, "2.txt"), "<|channel|>final<|message|>Done.<|return|>");
        _relay = await RelayBrowser.StartAsync("--local-tools", "--engine", "script", "--script", scripts);
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [ChromiumFact]
    public async Task Accepting_the_dialog_allows_the_command()
    {
        string? asked = null;
        Page.Dialog += async (_, dialog) =>
        {
            asked = dialog.Message;
            await dialog.AcceptAsync();
        };

        await ChatAsync();

        Assert.Equal($"Allow echo page > {Marker}?", asked);
        Assert.Equal("page\n", await File.ReadAllTextAsync(Marker));
        await Assertions.Expect(Page.Locator(".message.tool").Last).ToContainTextAsync("allowed:");
    }

    [ChromiumFact]
    public async Task Dismissing_the_dialog_rejects_the_command()
    {
        Page.Dialog += async (_, dialog) => await dialog.DismissAsync();

        await ChatAsync();

        Assert.False(File.Exists(Marker));
        await Assertions.Expect(Page.Locator(".message.tool").Last).ToContainTextAsync("rejected:");
    }

    private async Task ChatAsync()
    {
        await Page.GotoAsync(_relay.Url);
        await Page.FillAsync("#token", RelayBrowser.Token);
        await Page.ClickAsync("#connect");
        await Assertions.Expect(Page.Locator("#connection")).ToHaveTextAsync("connected");
        await Page.FillAsync("#prompt", "Run it.");
        await Page.ClickAsync("#send");
        await Assertions.Expect(Page.Locator(".stop").Nth(0)).ToHaveTextAsync("end_turn");
    }
}
