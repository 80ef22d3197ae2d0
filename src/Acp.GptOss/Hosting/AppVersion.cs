namespace Acp.GptOss.Hosting;

/// <summary>This program's version, as clients, servers and users see it.</summary>
/// <remarks>
/// A constant the build writes from the project's Version (AppVersion.g.cs, target WriteAppVersion): no attribute read
/// by reflection at start-up, where initialize reports it.
/// </remarks>
internal static partial class AppVersion
{
    /// <summary>The version without build metadata.</summary>
    public static string Current => Value;
}
