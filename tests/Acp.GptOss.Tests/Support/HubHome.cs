namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A fake Hugging Face Hub serving one file, and a home of its own whose HF_ENDPOINT names that hub: what every test of
/// a download starts from. The paths are where the file lands in the home's Hugging Face cache.
/// </summary>
internal sealed class HubHome : IAsyncDisposable
{
    private HubHome(TempHome home, FakeHub hub, HostedFile file)
    {
        Home = home;
        Hub = hub;
        File = file;
    }

    public TempHome Home { get; }

    public FakeHub Hub { get; }

    /// <summary>The file the hub serves.</summary>
    public HostedFile File { get; }

    /// <summary>The file's blob in the cache, named by its sha256.</summary>
    public string Blob => Path.Combine(RepositoryFolder, "blobs", File.Sha256);

    /// <summary>The partial download beside the blob.</summary>
    public string Incomplete => Blob + ".incomplete";

    /// <summary>The snapshot link to the blob, at the hub's commit.</summary>
    public string Snapshot => Path.Combine(RepositoryFolder, "snapshots", File.Commit, File.FileName);

    private string RepositoryFolder => Path.Combine(Home.HuggingFaceCache, "models--" + File.Repository.Replace("/", "--", StringComparison.Ordinal));

    /// <summary>Starts a hub serving <paramref name="size"/> bytes made from <paramref name="seed"/> as REPOSITORY/FILE_NAME.</summary>
    public static async Task<HubHome> StartAsync(string repository, string fileName, int size, int seed)
    {
        var home = new TempHome();
        FakeHub hub = await FakeHub.StartAsync();
        HostedFile file = hub.Add(repository, fileName, FakeHub.RandomContent(size, seed));
        home.Variables["HF_ENDPOINT"] = hub.Endpoint.AbsoluteUri;
        return new HubHome(home, hub, file);
    }

    /// <summary>The environment of a child process that sees this home and this hub, and nothing of the real ones.</summary>
    public Dictionary<string, string> ProcessEnvironment() => Home.ProcessEnvironment(Hub.Endpoint);

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        Home.Dispose();
    }
}
